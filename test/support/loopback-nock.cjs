// What the test-only preloads (node -r) that fake an internet host in a child process share: nock, working on
// Node 20, with every connection off loopback refused. Each preload then scripts the hosts it fakes.

// nock 15's interceptors call Promise.withResolvers, which Node 20 lacks.
Promise.withResolvers ??= function () {
  let resolve;
  let reject;
  const promise = new this((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
};

const nockModule = require('nock');
const nock = nockModule.default ?? nockModule;

nock.disableNetConnect();
nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host));

module.exports = { nock };
