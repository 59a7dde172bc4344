import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../src/client/line-splitter.js';

function collect(maxLineBytes = 64) {
  const lines: string[] = [];
  const errors: Array<{ message: string; seen: number }> = [];
  const splitter = new LineSplitter({
    maxLineBytes,
    onLine: (line) => lines.push(line),
    onOversize: (err, seen) => errors.push({ message: err.message, seen }),
  });
  return { splitter, lines, errors };
}

const b = (s: string) => Buffer.from(s, 'utf8');

describe('LineSplitter', () => {
  it('splits several lines joined in one chunk', () => {
    const { splitter, lines } = collect();
    splitter.push(b('{"a":1}\n{"b":2}\n{"c":3}\n'));
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('joins a line split over many chunks, also byte by byte', () => {
    const { splitter, lines } = collect();
    for (const byte of b('{"msg":"héllo ✓"}\n')) splitter.push(Buffer.from([byte]));
    assert.deepEqual(lines, ['{"msg":"héllo ✓"}']);
  });

  it('strips a trailing \\r (CRLF) and ignores empty lines', () => {
    const { splitter, lines } = collect();
    splitter.push(b('one\r\n\n\r\n   \ntwo\n'));
    assert.deepEqual(lines, ['one', 'two']);
  });

  it('holds an unterminated line until its newline, and delivers it at end()', () => {
    const { splitter, lines } = collect();
    splitter.push(b('first\nsec'));
    assert.deepEqual(lines, ['first']);
    assert.equal(splitter.bufferedBytes, 3);
    splitter.push(b('ond\nthi'));
    splitter.end();
    assert.deepEqual(lines, ['first', 'second', 'thi']);
  });

  it('accepts a line of exactly maxLineBytes (bytes, not characters), with or without \\r', () => {
    const { splitter, lines, errors } = collect(8);
    splitter.push(b('12345678\n12345678\r\néé€\n'));
    assert.deepEqual(lines, ['12345678', '12345678', 'éé€']);
    assert.equal(errors.length, 0);
  });

  it('counts bytes: 5 two-byte characters are over a 9-byte bound', () => {
    const { splitter, lines, errors } = collect(9);
    splitter.push(b('ééééé\nok\n'));
    assert.deepEqual(lines, ['ok']);
    assert.equal(errors.length, 1);
  });

  it('drops an oversized line with one clear error and reads the next line', () => {
    const { splitter, lines, errors } = collect(16);
    splitter.push(b(`${'x'.repeat(40)}\n{"next":true}\n`));
    assert.deepEqual(lines, ['{"next":true}']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.message, 'child stdout line of at least 40 bytes exceeds --max-line-bytes 16; dropped');
  });

  it('never holds more than the bound of an oversized line arriving in many chunks', () => {
    const { splitter, lines, errors } = collect(1024);
    const chunk = b('y'.repeat(100));
    let maxHeld = 0;
    for (let i = 0; i < 1000; i++) {
      splitter.push(chunk);
      maxHeld = Math.max(maxHeld, splitter.bufferedBytes);
    }
    assert.ok(maxHeld <= 1024, `held ${maxHeld} bytes`);
    assert.equal(splitter.bufferedBytes, 0);
    splitter.push(b('tail of the big line\n{"after":1}\n'));
    assert.deepEqual(lines, ['{"after":1}']);
    assert.equal(errors.length, 1, 'one error per dropped line, not per chunk');
    assert.match(errors[0]!.message, /at least 1100 bytes exceeds --max-line-bytes 1024/);
  });

  it('reports each of two oversized lines once', () => {
    const { splitter, lines, errors } = collect(4);
    splitter.push(b('123456\nab\n7890123\ncd\n'));
    assert.deepEqual(lines, ['ab', 'cd']);
    assert.equal(errors.length, 2);
  });

  it('defaults to a 4 MiB bound', () => {
    assert.equal(new LineSplitter({ onLine: () => {} }).maxLineBytes, 4 * 1024 * 1024);
  });
});
