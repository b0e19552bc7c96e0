// Keeps secrets out of every message actbatch shows or stores. A server may echo the Authorization
// header back in an error body, whole, truncated, or encoded; any of those forms is cut out here.

const MARK = "[REDACTED]";
/** A run of this many consecutive characters of a long secret is treated as a leak of the secret. */
const FRAGMENT = 12;

/** The literal value and the encodings it commonly travels in (URL, base64, JSON string). */
function formsOf(secret: string): string[] {
  const encoded = [
    secret,
    encodeURIComponent(secret),
    Buffer.from(secret, "utf8").toString("base64"),
    Buffer.from(secret, "utf8").toString("base64url"),
    JSON.stringify(secret).slice(1, -1),
  ];
  // Base64 padding is not part of what another encoder would produce mid-string.
  const unpadded = encoded.map((form) => form.replace(/=+$/, ""));
  return [...new Set([...encoded, ...unpadded])].filter((form) => form.length > 0);
}

/** A form to look for: a short one whole, a long one by any of its FRAGMENT-long pieces. */
interface Form {
  text: string;
  pieces: ReadonlySet<string> | null;
}

function prepareForm(form: string): Form {
  if (form.length < FRAGMENT * 2) return { text: form, pieces: null };
  const pieces = new Set<string>();
  for (let i = 0; i + FRAGMENT <= form.length; i++) pieces.add(form.slice(i, i + FRAGMENT));
  return { text: form, pieces };
}

/**
 * The prepared forms of a list of secrets, kept for as long as the caller keeps the list: the API
 * client redacts every message with the same list, and preparing the forms costs more than a search.
 */
const preparedForms = new WeakMap<readonly string[], Form[]>();

function formsFor(secrets: readonly string[]): Form[] {
  let forms = preparedForms.get(secrets);
  if (!forms) {
    forms = secrets
      .filter((secret) => secret.length > 0)
      .flatMap(formsOf)
      .map(prepareForm);
    preparedForms.set(secrets, forms);
  }
  return forms;
}

/** Marks in `covered` every position of `text` that belongs to an occurrence of `form` (or of a long enough piece of it). */
function markForm(text: string, form: Form, covered: Uint8Array): void {
  if (form.pieces === null) {
    for (let at = text.indexOf(form.text); at !== -1; at = text.indexOf(form.text, at + 1)) {
      covered.fill(1, at, at + form.text.length);
    }
    return;
  }
  for (let i = 0; i + FRAGMENT <= text.length; i++) {
    if (form.pieces.has(text.slice(i, i + FRAGMENT))) covered.fill(1, i, i + FRAGMENT);
  }
}

/**
 * Replaces every occurrence of each secret in `text` with "[REDACTED]": the literal value, its URL,
 * base64 and JSON-escaped forms, and any piece of a long secret of 12 or more characters (a server
 * that truncates what it echoes still leaks a usable prefix).
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  if (text.length === 0) return text;
  const forms = formsFor(secrets);
  if (forms.length === 0) return text;
  const covered = new Uint8Array(text.length);
  for (const form of forms) markForm(text, form, covered);
  if (!covered.includes(1)) return text;
  let out = "";
  for (let i = 0; i < text.length;) {
    if (covered[i] === 1) {
      while (i < text.length && covered[i] === 1) i++;
      out += MARK;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}
