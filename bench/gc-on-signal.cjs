// Bench-only preload (NODE_OPTIONS=--require): a full garbage collection on SIGUSR2, so the soak reads the
// runtime's RSS at a settled heap instead of wherever the collector happened to be.
'use strict';
const v8 = require('node:v8');
const vm = require('node:vm');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
process.on('SIGUSR2', () => gc());
