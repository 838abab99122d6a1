// Public face of src/symbols: ELF reading, function lookup by address and DWARF source lines, combined
// over every ELF of a boot by loadSymbols(). A leaf layer: imports only src/common.
export { ElfFile, type ElfMachine, type ElfSection, type ElfSegment, type ElfSymbol, type ElfSymbolBinding, type ElfSymbolType } from './elf';
export { type DwarfSections, LineTable, type SourceLocation } from './dwarf-line';
export { type CodeKind, type FunctionSymbol, isMappingSymbol, SymbolTable } from './symbol-table';
export { archOfElf, isStripped, loadSymbols, ProgramSymbols, symbolsOf, type Symbols, UNKNOWN_FUNCTION } from './symbols';
