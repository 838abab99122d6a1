// Types for the part of @alexaltea/capstone-js (an Emscripten build of Capstone 5, shipped without
// typings) that src/arch/disassembler.ts uses: the module factory, the Capstone handle and its text output.
declare module '@alexaltea/capstone-js' {
  namespace MCapstone {
    interface CapstoneInstruction {
      readonly id: number;
      readonly address: bigint | number;
      readonly size: number;
      readonly bytes: number[];
      readonly mnemonic: string;
      readonly op_str: string;
    }
    interface CapstoneHandle {
      /** Throws a plain string (not an Error) when nothing decodes. `max` 0 = as many as possible. */
      disasm(buffer: ArrayLike<number>, address: number | bigint, max?: number): CapstoneInstruction[];
      option(option: number, value: number): void;
      close(): void;
    }
    interface CapstoneModule {
      Capstone: new (arch: number, mode: number) => CapstoneHandle;
      readonly ARCH_ARM: number;
      readonly ARCH_ARM64: number;
      readonly MODE_ARM: number;
      readonly MODE_THUMB: number;
      readonly MODE_MCLASS: number;
      readonly MODE_V8: number;
      readonly OPT_SKIPDATA: number;
    }
    interface FactoryOptions {
      /** Emscripten hook: where to fetch `path` (capstone.wasm) from; default `scriptDirectory + path`. */
      locateFile?: (path: string, scriptDirectory: string) => string;
      /** Emscripten hook: the wasm bytes, bypassing any file lookup. */
      wasmBinary?: ArrayBuffer | Uint8Array;
    }
  }
  function MCapstone(options?: MCapstone.FactoryOptions): Promise<MCapstone.CapstoneModule>;
  export = MCapstone;
}
