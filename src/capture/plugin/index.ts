// Public face of src/capture/plugin: plugin capture from inside QEMU (plugin/libbootscope.so, QEMU 9.2 -
// 10.x) - building the plugin, its -plugin argument and record windows, running QEMU with it, and the
// stream decoder producing typed events. Imports only common, arch and symbols (like src/target).
export { type PcRange, pluginArgument, type PluginArgumentOptions, type RecordWindow, resolveWindow, type WindowPoint } from './args';
export { ensurePlugin, findPluginSourceDir, PLUGIN_SOURCES, type PluginBuildOptions } from './build';
export { PluginCapture, type PluginCaptureOptions, pluginLoadError, type QemuExitStatus } from './capture';
export { CaptureDecoder, CaptureStreamError } from './decoder';
export {
  type CaptureEvent, type InstructionDefinition, type InstructionExecuted, type MemoryWrite, PLUGIN_API_VERSION, RecordType,
  type RegisterChange, type RegisterDefinition, type RegisterLayoutEvent, STREAM_FORMAT_VERSION, STREAM_MAGIC, type StreamEnd,
  type StreamHeader, type StreamTermination, type WindowEvent, WindowReason,
} from './format';
export { type CaptureBatch, readCaptureStream, RegisterFile } from './stream';
