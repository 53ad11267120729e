/**
 * The little XML the S3 protocol needs: escaping for responses, and a strict,
 * entity-free parser for the request bodies clients send
 * (CompleteMultipartUpload). Attributes are read but ignored by callers;
 * DOCTYPE, processing instructions other than the declaration, and unknown
 * entities are refused, so no input can expand or reach outside the text.
 */

/** escapeXml makes `text` safe as element content or attribute value. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** One value of an XML response tree: text, a number, or nested elements. */
export type XmlValue =
  string | number | boolean | XmlNode | XmlNode[] | undefined;

/** An element's children by name, in order; arrays repeat the element. */
export interface XmlNode {
  [name: string]: XmlValue | XmlValue[];
}

/** The S3 namespace carried by every response root element. */
export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * renderXmlDocument renders `{root: children}` as an S3 response document.
 * Undefined values are left out, arrays repeat their element.
 */
export function renderXmlDocument(
  root: string,
  children: XmlNode,
  xmlns: string | undefined = S3_XMLNS,
): string {
  const open = xmlns ? `<${root} xmlns="${escapeXml(xmlns)}">` : `<${root}>`;
  const declaration = '<?xml version="1.0" encoding="UTF-8"?>\n';
  return `${declaration}${open}${renderChildren(children)}</${root}>`;
}

function renderChildren(node: XmlNode): string {
  let out = '';
  for (const [name, value] of Object.entries(node)) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      out += renderElement(name, item);
    }
  }
  return out;
}

function renderElement(name: string, value: XmlValue | XmlValue[]): string {
  if (value === undefined) {
    return '';
  }
  if (Array.isArray(value)) {
    return value.map((item) => renderElement(name, item)).join('');
  }
  if (typeof value === 'object') {
    return `<${name}>${renderChildren(value)}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A parsed element: name without prefix, child elements and own text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/** XmlParseError says why a request body is not acceptable XML. */
export class XmlParseError extends Error {
  override name = 'XmlParseError';
}

const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;

/**
 * parseXml parses a whole document into its root element, or throws
 * XmlParseError. Namespace prefixes are dropped from element names.
 */
export function parseXml(source: string): XmlElement {
  const text = source.replace(/^\uFEFF/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;

  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt === -1 ? text.slice(i) : text.slice(i, lt);
    if (chunk.length > 0) {
      if (stack.length === 0) {
        if (chunk.trim() !== '') {
          throw new XmlParseError('text outside the root element');
        }
      } else {
        stack[stack.length - 1].text += decodeEntities(chunk);
      }
    }
    if (lt === -1) {
      break;
    }
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt);
      if (end === -1 || lt !== 0 || !/^<\?xml\s/.test(text.slice(lt))) {
        throw new XmlParseError('unexpected processing instruction');
      }
      i = end + 2;
      continue;
    }
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end === -1) {
        throw new XmlParseError('unterminated comment');
      }
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end === -1 || stack.length === 0) {
        throw new XmlParseError('misplaced or unterminated CDATA section');
      }
      stack[stack.length - 1].text += text.slice(lt + 9, end);
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!', lt)) {
      throw new XmlParseError('DOCTYPE and declarations are not accepted');
    }
    const gt = text.indexOf('>', lt);
    if (gt === -1) {
      throw new XmlParseError('unterminated tag');
    }
    const tag = text.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const name = localName(tag.slice(1).trim());
      const open = stack.pop();
      if (!open || open.name !== name) {
        throw new XmlParseError(`unexpected closing tag </${name}>`);
      }
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const match = /^([^\s/>]+)([\s\S]*)$/.exec(body);
    if (!match || !NAME.test(match[1])) {
      throw new XmlParseError(`malformed tag <${tag}>`);
    }
    checkAttributes(match[2]);
    const element: XmlElement = {
      name: localName(match[1]),
      children: [],
      text: '',
    };
    if (stack.length > 0) {
      stack[stack.length - 1].children.push(element);
    } else if (root) {
      throw new XmlParseError('more than one root element');
    } else {
      root = element;
    }
    if (!selfClosing) {
      stack.push(element);
    }
  }

  if (stack.length > 0) {
    throw new XmlParseError(
      `element <${stack[stack.length - 1].name}> is not closed`,
    );
  }
  if (!root) {
    throw new XmlParseError('no root element');
  }
  return root;
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

function checkAttributes(source: string): void {
  const rest = source.replace(
    /\s+[A-Za-z_][\w.:-]*\s*=\s*("[^"<]*"|'[^'<]*')/g,
    '',
  );
  if (rest.trim() !== '') {
    throw new XmlParseError('malformed attributes');
  }
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) {
      throw new XmlParseError('bare "&" in text');
    }
    if (name in NAMED_ENTITIES) {
      return NAMED_ENTITIES[name];
    }
    const numeric = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (numeric) {
      const code = numeric[1]
        ? parseInt(numeric[1], 16)
        : parseInt(numeric[2], 10);
      if (code > 0 && code <= 0x10ffff) {
        return String.fromCodePoint(code);
      }
    }
    throw new XmlParseError(`unknown entity &${name};`);
  });
}
