/**
 * The single-process gateway stays as it was: without --redis, neither the cluster code nor
 * ioredis is loaded (gateway/index.ts imports them only with --redis). ioredis is a
 * CommonJS package, so anything that loaded it would leave it in the require cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startGateway } from '../../../src/gateway/index.js';
import { resolveGatewayOptions } from '../../../src/config/gateway-options.js';
import { createLogger } from '../../../src/observability/logger.js';

test('a gateway without --redis never loads ioredis', async () => {
  const { options } = resolveGatewayOptions({ flags: { noAuth: true, port: '0' }, env: {} });
  const gw = await startGateway(options, createLogger({ level: 'ERROR' }));
  try {
    const res = await fetch(`${gw.url}/readyz`);
    assert.equal(res.status, 200);
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('/ioredis/'));
    assert.deepEqual(loaded, []);
  } finally {
    await gw.close();
  }
});
