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
