import type * as esbuild from 'esbuild';

/**
 * How code that runs in twilio-run's Node process is bundled: each Function, and the local gateway preload
 * (src/local-runtime). npm packages stay external and resolve from the project, as on the platform.
 */
export const RUNTIME_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  logLevel: 'silent',
} as const satisfies esbuild.BuildOptions;
