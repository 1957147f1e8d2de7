import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { startFakeGoogle } from "./fake-google";
import { startTestSite } from "./test-site";

/**
 * Starts the real platform for the browser tests: its own PostgreSQL database and Redis
 * database, `seo-platform up --no-build` (API serving the built dashboard, workers for every
 * queue, Beat, Flower) on free ports, plus the loopback websites the audits crawl and a fake
 * of Google's servers (token endpoint, Search Console, Google Ads) the integrations call.
 */
const REPO = path.resolve(import.meta.dirname, "../..");
const DIST = path.resolve(import.meta.dirname, "../dist");
const LOG_DIR = path.resolve(import.meta.dirname, "../test-results");
const DATABASE = process.env.E2E_DATABASE ?? "seo_platform_e2e_frontend";
const REDIS_DB = process.env.E2E_REDIS_DB ?? "6";
// The servers the backend tests use (scripts/test may have started private ones), with a
// database of our own on each.
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? "postgresql+psycopg://postgres@127.0.0.1:5432/seo_platform_test";
const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15";

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

// Drops and creates the e2e database and empties the Redis database, through the backend's
// own drivers (no psql needed).
const RESET_STORES = `
import sys
import redis
import sqlalchemy as sa
url = sa.engine.make_url(sys.argv[1])
admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with admin.connect() as connection:
    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
admin.dispose()
redis.Redis.from_url(sys.argv[2]).flushdb()
`;
export const ADMIN = { email: "admin@e2e.example.com", password: "e2e-admin-password-123" };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): void {
  const result = spawnSync(command, args, { cwd: REPO, env, encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

async function waitForReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the platform exited early (${child.exitCode}); see ${LOG_DIR}/platform.log`);
    try {
      const response = await fetch(url);
      const body = await response.text();
      if (response.ok) return;
      last = `${response.status} ${body}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the platform was not ready after ${timeoutMs} ms: ${last}`);
}

function stop(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      // The whole process group: `up` and the workers, Beat and Flower it started.
      process.kill(-child.pid, "SIGTERM");
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!fs.existsSync(path.join(DIST, "index.html"))) {
    throw new Error("Build the dashboard first (npm run build): the platform serves frontend/dist.");
  }
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const [apiPort, flowerPort] = [await freePort(), await freePort()];
  const google = await startFakeGoogle();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENVIRONMENT: "local",
    DATABASE_URL: withDatabase(POSTGRES_URL, DATABASE),
    REDIS_URL: withDatabase(REDIS_URL, REDIS_DB),
    FRONTEND_DIST: DIST,
    FIRST_SUPERUSER: ADMIN.email,
    FIRST_SUPERUSER_PASSWORD: ADMIN.password,
    CRAWL_ALLOW_PRIVATE_NETWORKS: "true",
    BROWSER_EXECUTABLE_PATH: process.env.BROWSER_EXECUTABLE_PATH ?? "/usr/bin/chromium",
    FLOWER_URL: `http://127.0.0.1:${flowerPort}`,
    // A short soft time limit makes the slow site's audit fail for real (category
    // time_limit) within the test's patience; few rendered pages keep the quick audit
    // well inside it.
    TASK_SOFT_TIME_LIMIT: "40",
    TASK_TIME_LIMIT: "80",
    MAX_RENDER_PAGES: "5",
    // Every test signs up and logs in from the same address, far more often than people do.
    LOGIN_RATE_LIMIT_PER_ADDRESS: "100000",
    SIGNUP_RATE_LIMIT_PER_ADDRESS: "100000",
    LOGIN_RATE_LIMIT_PER_ACCOUNT: "100000",
    // Search Console and Google Ads are the fake's; its token endpoint is on loopback.
    GSC_API_BASE_URL: google.info.url,
    GOOGLE_ADS_API_BASE_URL: google.info.url,
    GOOGLE_TOKEN_HOSTS: "oauth2.googleapis.com,accounts.google.com,www.googleapis.com,127.0.0.1",
    // Rank tracking asks the fake SerpApi.
    SERPAPI_BASE_URL: google.info.serp.url,
  };

  // A database and a Redis database of our own, empty at every run.
  try {
    run("uv", ["run", "python", "-c", RESET_STORES, env.DATABASE_URL!, env.REDIS_URL!], env);
  } catch (error) {
    await google.close();
    throw error;
  }

  const log = fs.openSync(path.join(LOG_DIR, "platform.log"), "w");
  const platform = spawn(
    "uv",
    ["run", "seo-platform", "up", "--no-build", "--port", String(apiPort), "--flower-port", String(flowerPort)],
    { cwd: REPO, env, detached: true, stdio: ["ignore", log, log] },
  );
  const site = await startTestSite();
  const teardown = async () => {
    await stop(platform, 25_000);
    await site.close();
    await google.close();
  };
  try {
    await waitForReady(`http://127.0.0.1:${apiPort}/api/v1/health/ready`, platform, 180_000);
  } catch (error) {
    await teardown();
    throw error;
  }

  // Read by the tests (Playwright hands globalSetup's environment to its workers).
  process.env.E2E_BASE_URL = `http://127.0.0.1:${apiPort}`;
  process.env.E2E_FLOWER_URL = `http://127.0.0.1:${flowerPort}`;
  process.env.E2E_SITE_URL = site.url;
  process.env.E2E_SLOW_SITE_URL = site.slowUrl;
  process.env.E2E_ADMIN_EMAIL = ADMIN.email;
  process.env.E2E_ADMIN_PASSWORD = ADMIN.password;
  process.env.E2E_GOOGLE = JSON.stringify(google.info);
  return teardown;
}
