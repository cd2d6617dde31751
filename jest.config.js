// Unit tests run in parallel; integration tests share one build made by the global setup, and the suites that
// need only the default runtime share one twilio-run it starts (test/support/runtime.ts sharedRuntime).
const os = require('node:os');

const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  // Jest's default (one worker fewer than the cores) runs a 2-core machine's suites one by one, in band. They are
  // independent (free loopback ports, their own temporary folders), and most of an integration suite's time is
  // spent waiting on child processes, so two run at once even there.
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.test.ts'],
      transform,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
