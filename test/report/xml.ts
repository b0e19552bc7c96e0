// A small strict XML reader for tests: elements, attributes, text and the five entities plus
// numeric references. It throws on anything not well-formed, which is what the tests rely on.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export function parseXml(source: string): XmlElement {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`XML: ${why} at offset ${at}: ${JSON.stringify(source.slice(at, at + 40))}`);
  };
  if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(source))
    fail("character not allowed in XML");
  const skipSpace = (): void => {
    while (/\s/.test(source[at] ?? "")) at += 1;
  };
  const decode = (raw: string): string => {
    if (raw.includes("<")) fail("< in text or attribute");
    return raw.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);|&/g, (whole, ref: string | undefined) => {
      if (ref === undefined) return fail("bare &");
      if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
      if (ref.startsWith("#")) return String.fromCodePoint(Number(ref.slice(1)));
      const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
      return named[ref] ?? fail(`unknown entity ${whole}`);
    });
  };
  const name = (): string => {
    const match = /^[A-Za-z_][\w.-]*/.exec(source.slice(at));
    if (!match) return fail("expected a name");
    at += match[0].length;
    return match[0];
  };
  const element = (): XmlElement => {
    if (source[at] !== "<") fail("expected <");
    at += 1;
    const node: XmlElement = { name: name(), attributes: {}, children: [], text: "" };
    for (;;) {
      skipSpace();
      if (source.startsWith("/>", at)) {
        at += 2;
        return node;
      }
      if (source[at] === ">") {
        at += 1;
        break;
      }
      const attribute = name();
      if (Object.hasOwn(node.attributes, attribute)) fail(`duplicate attribute ${attribute}`);
      skipSpace();
      if (source[at] !== "=") fail("expected =");
      at += 1;
      skipSpace();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") fail("expected a quoted value");
      const end = source.indexOf(quote as string, at + 1);
      if (end < 0) fail("unterminated attribute");
      node.attributes[attribute] = decode(source.slice(at + 1, end));
      at = end + 1;
    }
    for (;;) {
      const next = source.indexOf("<", at);
      if (next < 0) fail(`unclosed <${node.name}>`);
      node.text += decode(source.slice(at, next));
      at = next;
      if (source.startsWith("</", at)) {
        at += 2;
        if (name() !== node.name) fail(`mismatched close of <${node.name}>`);
        skipSpace();
        if (source[at] !== ">") fail("expected >");
        at += 1;
        return node;
      }
      node.children.push(element());
    }
  };
  if (source.startsWith("<?xml")) {
    const end = source.indexOf("?>");
    if (end < 0) fail("unterminated declaration");
    at = end + 2;
  }
  skipSpace();
  const root = element();
  skipSpace();
  if (at !== source.length) fail("content after the root element");
  return root;
}
