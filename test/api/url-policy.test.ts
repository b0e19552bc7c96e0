// Which URLs actbatch talks to, and how a URL appears in a message: never its query string (signed
// URLs carry their token there), and never "null" for a URL without an origin.
import { describe, expect, it } from "vitest";
import { describeUrl, urlProblem } from "../../src/api/url-policy.js";

describe("describeUrl", () => {
  it.each([
    ["https://cdn.example.com/o/1.mp4?X-Amz-Signature=abc#t=1", "https://cdn.example.com/o/1.mp4"],
    ["https://user:pw@cdn.example.com/o.mp4", "https://cdn.example.com/o.mp4"],
    ["file:///etc/passwd?token=abc", "file:///etc/passwd"],
    ["file://server/share/o.mp4", "file://server/share/o.mp4"],
    ["javascript:alert(1)", "javascript:alert(1)"],
    ["foo://user:pw@host/p?q=1", "foo://host/p"],
    ["not a url", "(an invalid URL)"],
  ])("%s -> %s", (url, shown) => {
    expect(describeUrl(url)).toBe(shown);
  });

  it("clips the path of a URL without an origin (a data: URL's path is its payload)", () => {
    const shown = describeUrl(`data:video/mp4;base64,${"A".repeat(5000)}`);
    expect(shown).toBe(`data:video/mp4;base64,${"A".repeat(80 - "video/mp4;base64,".length)}…`);
  });
});

describe("urlProblem", () => {
  it("allows https, and http on loopback only; names what is allowed otherwise", () => {
    expect(urlProblem(new URL("https://cdn.example.com/o.mp4"))).toBeNull();
    expect(urlProblem(new URL("http://127.0.0.1:8080/o.mp4"))).toBeNull();
    expect(urlProblem(new URL("http://cdn.example.com/o.mp4"))).toBe(
      "http:// is allowed only for loopback addresses; use https://",
    );
    expect(urlProblem(new URL("file:///etc/passwd"))).toBe(
      "unsupported protocol file: (only https://, and http:// on a loopback address)",
    );
  });
});
