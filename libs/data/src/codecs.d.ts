// Type declarations for codec packages that ship none.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBufferLike, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array | Int16Array;
  }
}

declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  export interface J2KFrameInfo {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
  }
  export interface J2KDecoder {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    readHeader(): void;
    decode(): void;
    getFrameInfo(): J2KFrameInfo;
    delete(): void;
  }
  export interface J2KEncoder {
    getDecodedBuffer(frameInfo: J2KFrameInfo): Uint8Array;
    getEncodedBuffer(): Uint8Array;
    encode(): void;
    setQuality(lossless: boolean, quality: number): void;
    delete(): void;
  }
  export interface OpenJpegModule {
    J2KDecoder: new () => J2KDecoder;
    J2KEncoder: new () => J2KEncoder;
  }
  const factory: (options?: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<OpenJpegModule>;
  export default factory;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  import type { OpenJpegModule } from '@cornerstonejs/codec-openjpeg/wasmjs';
  const factory: (options?: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<Pick<OpenJpegModule, 'J2KDecoder'>>;
  export default factory;
}

declare module 'dcmjs' {
  const dcmjs: { data: Record<string, any> };
  export default dcmjs;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  export interface JpegLSDecoder {
    getEncodedBuffer(length: number): Uint8Array;
    getDecodedBuffer(): Uint8Array;
    decode(): void;
    getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
    delete(): void;
  }
  const factory: (options?: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<{ JpegLSDecoder: new () => JpegLSDecoder }>;
  export default factory;
}
