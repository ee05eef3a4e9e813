// The options of the xDS door's resources: how Envoy spills traffic from a caller's preferred endpoints (priority
// 0) to the others. gRPC clients ignore the factor (they always stay in priority 0 while anything there connects).
import { z } from 'zod';
import { option } from '../option.ts';

/**
 * The `overprovisioning_factor` that makes Envoy strict, as gRPC and kube-proxy are: a priority counts as fully
 * healthy while any of its endpoints is (Envoy caps a priority's health at 100 %; 10^8 % keeps one healthy endpoint
 * in a million at 100 %). Envoy multiplies it in 64 bits: no overflow.
 */
export const STRICT_OVERPROVISIONING_FACTOR = 100_000_000;

const EXPECTED = 'must be strict, or a whole number of percent from 100 to 100000000 (Envoy: 140)';

/** `strict`, or a percentage as Envoy's `ClusterLoadAssignment.policy.overprovisioning_factor` takes it. */
const overprovisioningFactor = z.string().transform((text, ctx) => {
  if (text === 'strict') return STRICT_OVERPROVISIONING_FACTOR;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (value >= 100 && value <= STRICT_OVERPROVISIONING_FACTOR) return value;
  ctx.addIssue({ code: 'custom', message: EXPECTED });
  return z.NEVER;
});

export const XDS_OPTIONS = {
  overprovisioningFactor: option({
    flag: 'xds-overprovisioning-factor',
    value: 'strict|PERCENT',
    default: 'strict',
    parse: overprovisioningFactor,
    help:
      "Envoy's spill-over from a caller's priority 0 (its zone's endpoints) to priority 1: strict keeps all traffic " +
      'in priority 0 while one endpoint there is healthy (as gRPC and kube-proxy do); a percentage spills in ' +
      "proportion once healthy share × it < 100 % (Envoy's own default: 140)",
  }),
};
