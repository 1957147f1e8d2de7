import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

/**
 * Google's servers for the integration tests: the backend's own fakes (token endpoint, Search
 * Console, Google Ads) in one process, `tests/fakes/serve_google.py`. It prints one JSON line
 * once it listens: its URL, the credentials it accepts and the figures a first sync shows.
 */
export type FakeGoogleInfo = {
  url: string;
  service_account: Record<string, string>;
  oauth: Record<string, string>;
  gsc: {
    property: string;
    permission: string;
    start: string;
    end: string;
    clicks: number;
    impressions: number;
    top_query: { query: string; clicks: number; impressions: number };
  };
  ads: {
    customer_id: string;
    developer_token: string;
    currency: string;
    start: string;
    end: string;
    cost: number;
    clicks: number;
    campaign: { name: string; cost: number; clicks: number };
  };
  /** SerpApi, the rank provider: its base URL and the key it accepts. */
  serp: { url: string; api_key: string };
};

const BACKEND = path.resolve(import.meta.dirname, "../../backend");

export async function startFakeGoogle(timeoutMs = 60_000): Promise<{ info: FakeGoogleInfo; close: () => Promise<void> }> {
  const child: ChildProcess = spawn("uv", ["run", "python", "-m", "tests.fakes.serve_google", "--port", "0"], {
    cwd: BACKEND,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  const lines = readline.createInterface({ input: child.stdout! });
  try {
    const info = await new Promise<FakeGoogleInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the fake Google did not start within ${timeoutMs} ms`)), timeoutMs);
      child.once("exit", (code) => reject(new Error(`the fake Google exited (${code}) before it listened`)));
      lines.once("line", (line) => {
        clearTimeout(timer);
        resolve(JSON.parse(line) as FakeGoogleInfo);
      });
    });
    return { info, close };
  } catch (error) {
    await close();
    throw error;
  }
}
