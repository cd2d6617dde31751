// Preloaded into twilio-run (node -r) so its server listens on one interface: twilio-run calls
// app.listen(port) with no host, which binds every interface. TWILIO_RUN_HOST is read here, before
// twilio-run replaces process.env with the .env contents.
'use strict';
const net = require('node:net');
const host = process.env.TWILIO_RUN_HOST || '127.0.0.1';
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnHost(...args) {
  const portOnly =
    (typeof args[0] === 'number' || typeof args[0] === 'string') &&
    (args.length === 1 || typeof args[1] === 'function');
  if (portOnly) args.splice(1, 0, host);
  return originalListen.apply(this, args);
};
