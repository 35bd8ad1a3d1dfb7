import { NumberValue } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalParts, isExactDouble, numberFromText, parseExactJson, stringifyExact } from '../../lambdas/core/exact-json.js';

describe('isExactDouble', () => {
  it.each([
    ['0.1', true],
    ['1.0e5', true],
    ['1e300', true],
    ['-0', true],
    ['9007199254740992', true],
    ['9007199254740993', false],
    ['12345678901234567890123', false],
    ['0.1000000000000000055511151231257827', false],
    ['1e-400', false],
    ['1e400', false],
  ])('%s → %s', (text, exact) => {
    expect(isExactDouble(text)).toBe(exact);
  });

  it('is true for every double as JSON.stringify writes it', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => isExactDouble(JSON.stringify(value))));
  });
});

describe('decimalParts', () => {
  it('normalises spellings of one value to the same digits and exponent', () => {
    expect(decimalParts('1.50e2')).toEqual(decimalParts('150'));
    expect(decimalParts('0.000')).toEqual({ negative: false, digits: '', exponent: 0 });
    expect(decimalParts('-12.3400')).toEqual({ negative: true, digits: '1234', exponent: -2 });
    expect(decimalParts('1e')).toBeUndefined();
  });
});

describe('parseExactJson', () => {
  it('keeps numbers a double cannot hold as NumberValues of their text, and the others as numbers', () => {
    // Act
    const parsed = parseExactJson('{"big":12345678901234567890123,"rate":0.1000000000000000055511151231257827,"tiny":-1e-400,"plain":1.0e5,"list":[0.5,9007199254740993]}');

    // Assess
    expect(parsed).toEqual({
      big: NumberValue.from('12345678901234567890123'),
      rate: NumberValue.from('0.1000000000000000055511151231257827'),
      tiny: NumberValue.from('-1e-400'),
      plain: 100000,
      list: [0.5, NumberValue.from('9007199254740993')],
    });
    expect((parsed as { big: unknown }).big).toBeInstanceOf(NumberValue);
  });

  it('reads JSON as JSON.parse does otherwise: last duplicate key, "__proto__" as an own key, strings untouched', () => {
    // Prepare
    const text = '{"a":1,"a":12345678901234567890,"__proto__":{"x":1},"s":"12345678901234567890 \\" 99999999999999999999","t":"\\\\","n":-123456789012345678}';

    // Act
    const parsed = parseExactJson(text) as Record<string, unknown>;

    // Assess
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['a', '__proto__', 's', 't', 'n']);
    expect(parsed.a).toEqual(NumberValue.from('12345678901234567890'));
    expect(parsed.s).toBe('12345678901234567890 " 99999999999999999999');
    expect(parsed.t).toBe('\\');
    expect(parsed.n).toEqual(NumberValue.from('-123456789012345678'));
  });

  it('throws as JSON.parse does for text that is not JSON', () => {
    expect(() => parseExactJson('{"a":12345678901234567890')).toThrow(SyntaxError);
    expect(() => parseExactJson('{"a":"12345678901234567890}')).toThrow(SyntaxError);
  });

  it('gives what JSON.parse gives for JSON whose numbers are all doubles', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(parseExactJson(JSON.stringify(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('round-trips any integer or decimal text through stringifyExact, digit for digit', () => {
    const numberText = fc.oneof(
      fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
      fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 10n ** 30n })).map(([whole, fraction]) => `${whole}.${fraction}1`),
      fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -500, max: 500 })).map(([digit, exponent]) => `${digit}e${exponent}`),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 6 }), numberText), { maxLength: 6 }), (entries) => {
        const text = `{${entries.map(([key, number], index) => `${JSON.stringify(`${key}${index}`)}:${number}`).join(',')}}`;
        const written = stringifyExact(parseExactJson(text));
        const reread = parseExactJson(written) as Record<string, unknown>;
        entries.forEach(([key, number], index) => {
          const value = reread[`${key}${index}`];
          expect(decimalParts(value instanceof NumberValue ? value.toString() : JSON.stringify(value)), number).toEqual(decimalParts(number));
        });
      }),
    );
  });
});

describe('numberFromText and stringifyExact', () => {
  it('writes NumberValues as bare numbers, and everything else as JSON.stringify does', () => {
    expect(numberFromText('42')).toBe(42);
    expect(stringifyExact({ n: NumberValue.from('12345678901234567890123'), s: '\u0000exact:fake:1', list: [NumberValue.from('-1e-400')] }, 1)).toBe(
      '{\n "n": 12345678901234567890123,\n "s": "\\u0000exact:fake:1",\n "list": [\n  -1e-400\n ]\n}',
    );
    expect(stringifyExact({ plain: 1 })).toBe('{"plain":1}');
  });
});
