/**
 * The part of the WebAssembly JS API the runner uses. The project compiles without the DOM
 * library, where these types live, so they are declared here over the global object.
 */

/** A linear memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer
}

/** A compiled module. */
export type WasmModule = object

/** One import a module declares. */
export interface WasmImportDescriptor {
  readonly module: string
  readonly name: string
  readonly kind: string
}

/** An instantiated module. */
export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>
}

interface WebAssemblyApi {
  readonly Module: {
    new (bytes: Uint8Array): WasmModule
    imports(module: WasmModule): WasmImportDescriptor[]
  }
  readonly Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => WasmInstance
  readonly Memory: abstract new (...args: never[]) => WasmMemory
}

/** The global `WebAssembly` object. */
export const webAssembly = (globalThis as unknown as {WebAssembly: WebAssemblyApi}).WebAssembly
