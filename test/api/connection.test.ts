import { describe, expect, it } from "vitest";
import { resolveConnection, SIMULATOR_KEY } from "../../src/api/connection.js";
import { isLoopbackHost } from "../../src/api/url-policy.js";
import { UserError } from "../../src/errors.js";

const COMET_KEY = "sk-test-0123456789abcdef0123456789";
const RUNWAY_KEY = `key_${"ab".repeat(64)}`;
const env = { COMETAPI_KEY: COMET_KEY, RUNWAYML_API_SECRET: RUNWAY_KEY };

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error("expected a UserError");
}

describe("resolveConnection", () => {
  it("defaults per provider: URL, key variable, API version", () => {
    expect(resolveConnection({ jobProvider: { name: "cometapi" }, env })).toEqual({
      provider: "cometapi",
      baseUrl: "https://api.cometapi.com/runwayml",
      apiKey: COMET_KEY,
      runwayVersion: "2024-11-06",
    });
    expect(resolveConnection({ jobProvider: { name: "runway", runwayVersion: "2024-09-13" }, env })).toEqual({
      provider: "runway",
      baseUrl: "https://api.dev.runwayml.com",
      apiKey: RUNWAY_KEY,
      runwayVersion: "2024-09-13",
    });
  });

  it("--provider beats the job file's provider", () => {
    const connection = resolveConnection({ provider: "runway", jobProvider: { name: "cometapi" }, env });
    expect(connection.provider).toBe("runway");
    expect(connection.apiKey).toBe(RUNWAY_KEY);
  });

  it("base URL precedence: flag > ACTBATCH_BASE_URL > job file > default", () => {
    const jobProvider = { name: "cometapi" as const, baseUrl: "https://job.example.com/runwayml" };
    const withEnv = { ...env, ACTBATCH_BASE_URL: "https://env.example.com/x/" };
    expect(
      resolveConnection({ jobProvider, env: withEnv, baseUrlFlag: "https://flag.example.com" }).baseUrl,
    ).toBe("https://flag.example.com");
    expect(resolveConnection({ jobProvider, env: withEnv }).baseUrl).toBe("https://env.example.com/x");
    expect(resolveConnection({ jobProvider, env }).baseUrl).toBe("https://job.example.com/runwayml");
  });

  it("--simulate beats every other source and never uses the real key", () => {
    const connection = resolveConnection({
      jobProvider: { name: "cometapi" },
      env: { ...env, ACTBATCH_BASE_URL: "https://env.example.com" },
      baseUrlFlag: "https://flag.example.com",
      simulateBaseUrl: "http://127.0.0.1:4567/runwayml",
    });
    expect(connection.baseUrl).toBe("http://127.0.0.1:4567/runwayml");
    expect(connection.apiKey).toBe(SIMULATOR_KEY);
  });

  it("--simulate needs no key at all", () => {
    const connection = resolveConnection({
      jobProvider: { name: "runway" },
      env: {},
      simulateBaseUrl: "http://localhost:1",
    });
    expect(connection.apiKey).toBe(SIMULATOR_KEY);
  });

  it("a missing key is a user error (exit 2) naming the variable", () => {
    const error = thrown(() =>
      resolveConnection({ jobProvider: { name: "cometapi" }, env: { RUNWAYML_API_SECRET: RUNWAY_KEY } }),
    );
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("COMETAPI_KEY");
    expect(error.message).not.toContain(RUNWAY_KEY);
    const runway = thrown(() =>
      resolveConnection({ jobProvider: { name: "runway" }, env: { RUNWAYML_API_SECRET: "  " } }),
    );
    expect(runway.message).toContain("RUNWAYML_API_SECRET");
  });

  it("a key that would break the header is refused without echoing it", () => {
    const error = thrown(() =>
      resolveConnection({ jobProvider: { name: "cometapi" }, env: { COMETAPI_KEY: "sk-abc\r\nX-Evil: 1" } }),
    );
    expect(error.message).toContain("COMETAPI_KEY");
    expect(error.message).not.toContain("sk-abc");
  });

  it("trims a trailing newline from the key", () => {
    expect(
      resolveConnection({ jobProvider: { name: "cometapi" }, env: { COMETAPI_KEY: `${COMET_KEY}\n` } })
        .apiKey,
    ).toBe(COMET_KEY);
  });

  it.each([
    ["http://api.example.com", "https://"],
    ["ftp://127.0.0.1/x", "unsupported protocol"],
    ["not a url", "not a valid URL"],
    ["https://user:secretpw@api.example.com", "credentials"],
    ["https://api.example.com/x?token=1", "query string"],
    ["https://api.cometapi.com/runwayml/v1", "ends in /v1"],
  ])("refuses %s", (url, why) => {
    const error = thrown(() =>
      resolveConnection({ jobProvider: { name: "cometapi" }, env, baseUrlFlag: url }),
    );
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(why);
    expect(error.message).not.toContain("secretpw");
  });

  it.each([
    "http://127.0.0.1:8080",
    "http://127.3.4.5",
    "http://localhost:3000/runwayml",
    "http://[::1]:9000",
  ])("allows plain http on loopback: %s", (url) => {
    expect(resolveConnection({ jobProvider: { name: "cometapi" }, env, baseUrlFlag: url }).baseUrl).toBe(
      url.replace(/\/$/, ""),
    );
  });

  it("knows what loopback is", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("127.255.255.254")).toBe(true);
    expect(isLoopbackHost("LOCALHOST")).toBe(true);
    expect(isLoopbackHost("a.localhost")).toBe(true);
    expect(isLoopbackHost("[::1]")).toBe(true);
    expect(isLoopbackHost("127.0.0.1.example.com")).toBe(false);
    expect(isLoopbackHost("128.0.0.1")).toBe(false);
    expect(isLoopbackHost("127.0.0.256")).toBe(false);
    expect(isLoopbackHost("localhost.example.com")).toBe(false);
  });
});
