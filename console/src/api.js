// The API client: bearer token from the session, JSON in and out, conditional GETs,
// and every failure turned into an ApiError the views can show in words.

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// Where the API lives: the console is served at <prefix>/console/, the API at <prefix>/
// (API Gateway's stage, or nothing under chalice local); config.json may point elsewhere.
export function apiBase(config) {
  if (config && config.api_base) return String(config.api_base).replace(/\/$/, "");
  return new URL("..", document.baseURI).pathname.replace(/\/$/, "");
}

function errorFrom(status, body, text) {
  if (body && typeof body === "object") {
    // Our own shape: {"error", "message", "errors"?}; API Gateway's: {"message"} or {"Message"}.
    const code = body.error || (status === 403 ? "forbidden" : status === 401 ? "unauthorized" : "http_" + status);
    const message = body.message || body.Message || "";
    // API Gateway (and chalice local) answer a route they do not have with a 403 whose message
    // repeats the Authorization header, token and all: never show that, say what it means.
    if (status === 403 && /Authorization header requires|Missing Authentication Token/i.test(message)) {
      return new ApiError(status, "no_route", "");
    }
    return new ApiError(status, code, message, Array.isArray(body.errors) ? body.errors : []);
  }
  return new ApiError(status, "http_" + status, (text || "").slice(0, 300));
}

export function createApi({ base, token, onUnauthorized }) {
  // `probe`: a 401 is the caller's to explain (the sign-in screen checking a token), not a session ending.
  async function request(method, path, { body, etag, signal, probe = false } = {}) {
    const headers = { Accept: "application/json" };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (etag) headers["If-None-Match"] = etag;
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // We keep the ETag ourselves, so a 304 reaches us as a 304.
        cache: "no-store",
        credentials: "omit",
        signal,
      });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError(0, "network", String((error && error.message) || error));
    }
    if (response.status === 304) return { notModified: true, etag };
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = errorFrom(response.status, data, text);
      if (response.status === 401 && onUnauthorized && !probe) onUnauthorized(error);
      throw error;
    }
    return { data, etag: response.headers.get("ETag"), status: response.status };
  }
  const call = (method) => async (path, body) => (await request(method, path, { body })).data;
  return {
    request,
    get: call("GET"),
    post: call("POST"),
    put: call("PUT"),
    patch: call("PATCH"),
    del: call("DELETE"),
    // Every page of a list (the API pages at most 200 at a time).
    async all(path, limit = 200, most = 2000) {
      const items = [];
      let cursor = null;
      do {
        const sep = path.includes("?") ? "&" : "?";
        const page = await this.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        items.push(...page.items);
        cursor = page.next;
      } while (cursor && items.length < most);
      return items;
    },
  };
}
