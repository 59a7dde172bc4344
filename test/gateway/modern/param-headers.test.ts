import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkParamHeaders, declarationsOf, ToolHeaderIndex } from '../../../src/gateway/modern/param-headers.js';
import { encodeHeaderValue } from '../../../src/protocol/mcp-modern.js';

const schema = {
  type: 'object',
  properties: {
    region: { type: 'string', 'x-mcp-header': 'Region' },
    limit: { type: 'integer', 'x-mcp-header': 'Limit' },
    opts: { type: 'object', properties: { dry: { type: 'boolean', 'x-mcp-header': 'Dry' } } },
    query: { type: 'string' },
  },
};

test('declarations follow properties chains only and must be valid tokens on primitives', () => {
  const d = declarationsOf(schema)!;
  assert.deepEqual(d.map((x) => [x.name, x.path.join('.')]).sort(), [['Dry', 'opts.dry'], ['Limit', 'limit'], ['Region', 'region']]);
  assert.equal(declarationsOf({ properties: { a: { type: 'number', 'x-mcp-header': 'A' } } }), undefined);
  assert.equal(declarationsOf({ properties: { a: { type: 'string', 'x-mcp-header': 'bad name' } } }), undefined);
  assert.equal(declarationsOf({ properties: { a: { type: 'string', 'x-mcp-header': 'X' }, b: { type: 'string', 'x-mcp-header': 'x' } } }), undefined);
});

test('headers must mirror the arguments (decoded, integers compared as numbers); absent values expect no header', () => {
  const d = declarationsOf(schema)!;
  const h = (m: Record<string, string>) => (name: string) => m[name.toLowerCase()];
  assert.equal(checkParamHeaders(d, { region: 'us-west1', limit: 42, opts: { dry: true } }, h({ region: 'us-west1', limit: '42.0', dry: 'true' })), undefined);
  assert.equal(checkParamHeaders(d, { region: 'Hello, 世界' }, h({ region: encodeHeaderValue('Hello, 世界') })), undefined);
  assert.match(checkParamHeaders(d, { region: 'a' }, h({}))!, /missing/);
  assert.match(checkParamHeaders(d, { region: 'a' }, h({ region: 'b' }))!, /says "b"/);
  assert.match(checkParamHeaders(d, { region: 'a' }, h({ region: '=?base64?@@@?=' }))!, /invalid/);
  assert.equal(checkParamHeaders(d, { region: null }, h({ region: 'x' })), undefined);
});

test('the index learns per tool from tools/list pages', () => {
  const i = new ToolHeaderIndex();
  i.learn({ tools: [{ name: 't', inputSchema: schema }, { name: 'plain', inputSchema: { type: 'object' } }] });
  assert.equal(i.get('t').length, 3);
  assert.equal(i.get('plain').length, 0);
  i.learn({ tools: [{ name: 't', inputSchema: { type: 'object' } }] });
  assert.equal(i.get('t').length, 0);
});
