// Byte sizes as people write them in flags ("512KiB", "64MiB", "1GB", "4096") and as messages show them back
// ("8.0 KiB", "64.0 MiB"): one reading and one spelling for every size limit of the server.

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1e6,
  gb: 1e9,
};

/** Bytes of `512KiB`, `64MiB`, `1GB`, `4096`; undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined) return undefined;
  return Number(match[1]) * unit;
}

/** `bytes` for a message: MiB or KiB with one decimal, plain bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
