// Hash routes (#/inbox, #/appeals/ap_…): deep links work without any server-side routing,
// and nothing secret ever goes into them.
import { useEffect, useState } from "preact/hooks";

export const currentPath = () => decodeURI(location.hash.replace(/^#/, "")) || "/";

export function navigate(path) {
  if (currentPath() !== path) location.hash = "#" + path;
}

export const href = (path) => "#" + path;

export function match(pattern, path) {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i += 1) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

export function usePath() {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const changed = () => setPath(currentPath());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return path;
}
