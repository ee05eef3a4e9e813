// Pure formatting of the command line's tables, in kubectl's manner: upper-case headers, columns padded to the
// widest cell and three spaces apart, `<none>` for nothing, long endpoint lists cut after three.
import type { ServiceBody } from '../api/rest/wire.ts';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

/** One service as a row shows it. `age` is preformatted (see formatAge). */
export interface ServiceRow {
  readonly body: ServiceBody;
  /** Every endpoint, and the ready ones (the body may hold only the routable ones). */
  readonly total: number;
  readonly ready: number;
  readonly age: string;
  /** Shown instead of the endpoints, e.g. `<deleted>`. */
  readonly state?: string;
}

/** kubectl shows three endpoints, then how many more. */
const MAX_ENDPOINTS_SHOWN = 3;

export function columns(format: OutputFormat, withNamespace: boolean): string[] {
  const base = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'ENDPOINTS', 'AGE'];
  return format === 'wide' ? [...base, 'READY', 'PORTS', 'VERSION'] : base;
}

export function rowCells(row: ServiceRow, format: OutputFormat, withNamespace: boolean): string[] {
  const { body } = row;
  const cells = [
    ...(withNamespace ? [body.namespace] : []),
    body.name,
    row.state ?? endpointsCell(body),
    row.age,
  ];
  if (format !== 'wide') return cells;
  const ports = body.ports.map((p) =>
    p.name === '' ? `${p.port}/${p.protocol}` : `${p.name}:${p.port}/${p.protocol}`,
  );
  return [
    ...cells,
    `${row.ready}/${row.total}`,
    ports.length === 0 ? '<none>' : ports.join(','),
    body.version,
  ];
}

/** `10.0.0.1:8080,10.0.0.2:8080,[fd00::1]:8080 + 2 more...`: each endpoint's first address with each of its ports. */
export function endpointsCell(body: ServiceBody): string {
  const pairs: string[] = [];
  for (const endpoint of body.endpoints) {
    const address = endpoint.addresses[0];
    if (address === undefined) continue;
    const host = address.includes(':') ? `[${address}]` : address;
    if (endpoint.ports.length === 0) pairs.push(host);
    for (const port of endpoint.ports) pairs.push(`${host}:${port.port}`);
  }
  if (pairs.length === 0) return '<none>';
  const shown = pairs.slice(0, MAX_ENDPOINTS_SHOWN).join(',');
  return pairs.length > MAX_ENDPOINTS_SHOWN
    ? `${shown} + ${pairs.length - MAX_ENDPOINTS_SHOWN} more...`
    : shown;
}

/** Lines of a table: the header and every row, each column as wide as its widest cell. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((cells) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd(),
  );
}

/** kubectl's short ages: 45s, 12m, 5h, 3d. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * The API carries no timestamps (versions are content hashes, equal on every replica), so a `get` cannot know how
 * old a state is; kubectl prints this for an object without a creation time.
 */
export const UNKNOWN_AGE = '<unknown>';
