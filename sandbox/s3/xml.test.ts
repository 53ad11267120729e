import { describe, expect, it } from 'vitest';

import {
  escapeXml,
  parseXml,
  renderXmlDocument,
  XmlParseError,
} from './xml.ts';

describe('xml', () => {
  describe('parseXml()', () => {
    it('reads a CompleteMultipartUpload body with entities and a namespace', () => {
      const root = parseXml(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&quot;abc&quot;</ETag><PartNumber>1</PartNumber></Part><!-- c --><Part><ETag>"d&#x65;f"</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>',
      );

      expect(root.name).toBe('CompleteMultipartUpload');
      expect(
        root.children.map((part) =>
          part.children.map((field) => [field.name, field.text]),
        ),
      ).toEqual([
        [
          ['ETag', '"abc"'],
          ['PartNumber', '1'],
        ],
        [
          ['ETag', '"def"'],
          ['PartNumber', '2'],
        ],
      ]);
    });

    const refused: Array<[string, string]> = [
      [
        'a DOCTYPE with entities',
        '<!DOCTYPE x [<!ENTITY e "boom">]><a>&e;</a>',
      ],
      ['an unknown entity', '<a>&e;</a>'],
      ['a bare ampersand', '<a>a & b</a>'],
      ['mismatched tags', '<a><b></a></b>'],
      ['an unclosed root', '<a><b></b>'],
      ['two roots', '<a/><b/>'],
      ['text outside the root', 'x<a/>'],
      ['an empty document', '   '],
    ];
    for (const [what, source] of refused) {
      it(`refuses ${what}`, () => {
        expect(() => parseXml(source)).toThrow(XmlParseError);
      });
    }
  });

  describe('renderXmlDocument()', () => {
    it('escapes text, repeats arrays and leaves out undefined', () => {
      const text = renderXmlDocument('R', {
        A: 'x<&>"',
        B: [1, 2],
        C: undefined,
        D: { E: true },
      });

      expect(text).toBe(
        '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><A>x&lt;&amp;&gt;&quot;</A><B>1</B><B>2</B><D><E>true</E></D></R>',
      );
      expect(escapeXml("'")).toBe('&apos;');
    });
  });
});
