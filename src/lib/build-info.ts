/** Identity of one build, baked into every Function at build time and answered by /health. */
export interface BuildInfo {
  name: string;
  version: string;
  builtAt: string;
  functions: number;
  assets: { public: number; protected: number; private: number; total: number };
}

export function healthBody(info: BuildInfo | undefined, now: Date): Record<string, unknown> {
  if (!info) return { status: 'degraded', reason: 'build info missing: this Function was not built by npm run build' };
  return { status: 'ok', ...info, now: now.toISOString() };
}

/** The fields of a BuildInfo that tell one build from another, as dotted paths ("assets.total"). */
const IDENTITY_FIELDS = [
  'name',
  'version',
  'builtAt',
  'functions',
  'assets.public',
  'assets.protected',
  'assets.private',
  'assets.total',
] as const;

const valueAt = (object: unknown, dotted: string): unknown =>
  dotted
    .split('.')
    .reduce<unknown>(
      (o, key) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined),
      object,
    );

const shown = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

/**
 * What a /health answer says differently from the expected build, one phrase per field (empty: the same build).
 * `status` and `now` are not identity; an answer that is not an `ok` health body is one difference naming why.
 */
export function buildInfoDifferences(expected: BuildInfo, answer: unknown): string[] {
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return ['the answer is not a JSON object'];
  const body = answer as Record<string, unknown>;
  if (body.status !== 'ok') {
    const reason = typeof body.reason === 'string' ? `: ${body.reason}` : '';
    return [`status is ${shown(body.status)}, not "ok"${reason}`];
  }
  return IDENTITY_FIELDS.flatMap((field) => {
    const deployed = valueAt(body, field);
    const local = valueAt(expected, field);
    return deployed === local ? [] : [`${field}: answered ${shown(deployed)}, expected ${shown(local)}`];
  });
}
