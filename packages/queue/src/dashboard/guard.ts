import { createHash, timingSafeEqual } from "node:crypto";
import { hostname as machineName, networkInterfaces } from "node:os";
import type { Context, MiddlewareHandler } from "hono";

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

export interface GuardOptions {
  /** The address the server is bound to. */
  host: string;
  /** The port it listens on (read per request: known only once listening). */
  port: () => number;
  /** More host names the page answers to; "*" turns the Host check off. */
  allowedHosts?: string[];
  /** When set, every request must carry it. */
  token?: string;
}

export const TOKEN_COOKIE = "latentflow_dashboard";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The host name of a Host header or an Origin, lowercased, without brackets or port; undefined when malformed. */
function hostnameOf(authority: string): string | undefined {
  try {
    const u = new URL(`http://${authority}`);
    if (u.username || u.password || u.pathname !== "/" || u.search || u.hash) return undefined;
    return u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  } catch {
    return undefined;
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * The dashboard's front door. Host must name this machine (loopback, the bound address, or an allowed
 * host), so a page whose DNS name was rebound to 127.0.0.1 is refused; a state-changing request must come
 * from the page's own origin; and with a token, every request must carry it (bearer header, or the
 * cookie set when the page is first opened with `?token=`).
 */
export function dashboardGuard(opts: GuardOptions): MiddlewareHandler {
  const bound = opts.host.replace(/^\[|\]$/g, "").toLowerCase();
  const wildcard = bound === "0.0.0.0" || bound === "::";
  const allowed = new Set<string>((opts.allowedHosts ?? []).map((h) => h.replace(/^\[|\]$/g, "").toLowerCase()));
  if (!wildcard) allowed.add(bound);
  else {
    // Bound to every interface: the machine's own addresses and name are its hosts.
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) allowed.add(a.address.toLowerCase());
    allowed.add(machineName().toLowerCase());
  }
  const anyHost = allowed.has("*");
  const hostOk = (h: string | undefined) => h !== undefined && (anyHost || isLoopback(h) || allowed.has(h));
  const want = opts.token ? digest(opts.token) : undefined;
  const tokenOk = (t: string | undefined) => want !== undefined && t !== undefined && timingSafeEqual(digest(t), want);

  const originOk = (origin: string) => {
    try {
      const u = new URL(origin);
      const port = u.port || (u.protocol === "https:" ? "443" : "80");
      return (u.protocol === "http:" || u.protocol === "https:") && hostOk(u.hostname.replace(/^\[|\]$/g, "").toLowerCase()) && port === String(opts.port());
    } catch {
      return false; // "null" (sandboxed frames, file pages) or malformed
    }
  };

  const refuse = (c: Context, status: 401 | 403, code: string, message: string, hint: string) => {
    if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="latentflow dashboard"');
    return c.json({ code, message, hint }, status);
  };

  return async (c, next) => {
    const hostHeader = c.req.header("host");
    if (!hostOk(hostOfHeader(hostHeader))) {
      return refuse(c, 403, "E_HOST", `this dashboard answers to this machine's names only, found Host ${JSON.stringify(hostHeader ?? null)}`, "open it as http://127.0.0.1:<port>/, or start it with --allowed-hosts <name> for a name of your own");
    }
    if (!SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      let sameOrigin = true;
      if (origin !== undefined) sameOrigin = originOk(origin);
      else if (site !== undefined) sameOrigin = site === "same-origin" || site === "none";
      if (!sameOrigin) {
        return refuse(c, 403, "E_ORIGIN", `requests that change jobs or queues must come from the dashboard's own page, found Origin ${JSON.stringify(origin ?? null)}${site ? ` (Sec-Fetch-Site ${site})` : ""}`, "use the dashboard page itself; other sites cannot act on it");
      }
    }
    if (want) {
      const auth = c.req.header("authorization");
      const bearer = auth?.startsWith("Bearer ") ? auth.slice(7).trim() : undefined;
      const cookie = cookieValue(c.req.header("cookie"), TOKEN_COOKIE);
      if (!tokenOk(bearer) && !tokenOk(cookie)) {
        const query = c.req.query("token");
        if (SAFE_METHODS.has(c.req.method) && tokenOk(query)) {
          // Opened from the link with ?token=: keep it in a cookie the page's own requests send, and drop it from the address bar.
          const url = new URL(c.req.url);
          url.searchParams.delete("token");
          c.header("Set-Cookie", `${TOKEN_COOKIE}=${encodeURIComponent(query!)}; Path=/; HttpOnly; SameSite=Strict`);
          return c.redirect(`${url.pathname}${url.search}`, 303);
        }
        return refuse(c, 401, "E_TOKEN", "this dashboard needs its token", "send 'Authorization: Bearer <token>', or open the page once as /?token=<token> (the token is --token or $LATENTFLOW_DASHBOARD_TOKEN)");
      }
    }
    await next();
  };
}

function hostOfHeader(h: string | undefined): string | undefined {
  return h === undefined ? undefined : hostnameOf(h);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
