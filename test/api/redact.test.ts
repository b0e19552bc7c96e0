import { describe, expect, it } from "vitest";
import { redactSecrets } from "../../src/redact.js";

const KEY = `key_${"0123456789abcdef".repeat(8)}`;
const COMET = "sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";

describe("redactSecrets", () => {
  it("removes the literal key wherever it appears", () => {
    const text = `bad header "Authorization: Bearer ${KEY}" and again ${KEY}.`;
    const out = redactSecrets(text, [KEY]);
    expect(out).toBe('bad header "Authorization: Bearer [REDACTED]" and again [REDACTED].');
  });

  it("removes base64, base64url, URL-encoded and JSON-escaped forms", () => {
    const secret = 'p@ss/word+"with"=chars&more-1234567890';
    for (const form of [
      Buffer.from(secret).toString("base64"),
      Buffer.from(secret).toString("base64url"),
      encodeURIComponent(secret),
      JSON.stringify(secret).slice(1, -1),
    ]) {
      const out = redactSecrets(`echo: ${form} end`, [secret]);
      expect(out).toBe("echo: [REDACTED] end");
    }
  });

  it("removes a truncated echo of a long key (a usable prefix is a leak)", () => {
    const out = redactSecrets(`token ${COMET.slice(0, 20)}... is invalid`, [COMET]);
    expect(out).toBe("token [REDACTED]... is invalid");
    expect(redactSecrets(`suffix ${KEY.slice(-30)}`, [KEY])).toBe("suffix [REDACTED]");
  });

  it("leaves text without the secret alone, including short common words of it", () => {
    const text = "key_ is a prefix; 0123 are digits; sk- too";
    expect(redactSecrets(text, [KEY, COMET])).toBe(text);
  });

  it("handles several secrets, empty secrets and empty text", () => {
    expect(redactSecrets(`${KEY} ${COMET}`, [KEY, COMET, ""])).toBe("[REDACTED] [REDACTED]");
    expect(redactSecrets("", [KEY])).toBe("");
    expect(redactSecrets("nothing", [])).toBe("nothing");
  });

  it("redacts a short secret exactly", () => {
    expect(redactSecrets("a abc123 b", ["abc123"])).toBe("a [REDACTED] b");
  });
});
