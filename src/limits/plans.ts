/** The plans and their per-minute request limits (contract §6.1). */
export const PLANS = ['sandbox', 'starter', 'pro', 'team', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export const RATE_LIMIT_PER_MINUTE: Record<Plan, number> = {
  sandbox: 100,
  starter: 200,
  pro: 1_000,
  team: 5_000,
  enterprise: 10_000,
};

export function isPlan(value: unknown): value is Plan {
  return typeof value === 'string' && (PLANS as readonly string[]).includes(value);
}

/** Live keys come with paid plans only (contract §11.2–11.3). */
export function planHasLiveKeys(plan: Plan): boolean {
  return plan !== 'sandbox';
}

/** The limit in force: an organisation's override (null = unlimited) or its plan's number. */
export function effectiveRateLimit(plan: string, custom: boolean, perMinute: number | null): number | null {
  if (custom) return perMinute;
  return isPlan(plan) ? RATE_LIMIT_PER_MINUTE[plan] : RATE_LIMIT_PER_MINUTE.sandbox;
}
