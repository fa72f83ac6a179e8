import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";

// What every view may use: the API client, who is signed in, the sign-in settings,
// a polite live region for news, and the operators' names (admins only).
export const App = createContext(null);
export const useApp = () => useContext(App);

// Loads once per change of `deps`; `reload()` loads again, `setData` applies a known answer.
export function useLoad(loader, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const generation = useRef(0);
  const load = useCallback(async () => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await loader();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((previous) => ({ data: previous.data, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    load();
  }, [load]);
  // A known answer wins over a load still in flight (which read the world before it).
  const setData = (data) => {
    generation.current += 1;
    setState({ data, error: null, loading: false });
  };
  return { ...state, reload: load, setData };
}

// Polls a GET with If-None-Match every `every` ms while the page is visible: an unchanged
// answer is a bodiless 304, so polling costs almost nothing. `refresh()` asks at once.
export function usePoll(api, path, every = 3000) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const etag = useRef(null);
  const timer = useRef(null);
  const tick = useRef(null);
  tick.current = async () => {
    clearTimeout(timer.current);
    if (!path) return;
    if (document.visibilityState !== "hidden") {
      try {
        const answer = await api.request("GET", path, { etag: etag.current });
        if (!answer.notModified) {
          etag.current = answer.etag;
          setState({ data: answer.data, error: null, loading: false });
        } else {
          setState((previous) => (previous.error ? { ...previous, error: null } : previous));
        }
      } catch (error) {
        setState((previous) => ({ ...previous, error, loading: false }));
      }
    }
    timer.current = setTimeout(() => tick.current(), every);
  };
  useEffect(() => {
    etag.current = null;
    setState({ data: undefined, error: null, loading: true });
    tick.current();
    const visible = () => document.visibilityState === "visible" && tick.current();
    document.addEventListener("visibilitychange", visible);
    return () => {
      clearTimeout(timer.current);
      document.removeEventListener("visibilitychange", visible);
    };
  }, [path]);
  return { ...state, refresh: () => tick.current() };
}

// Re-renders every `every` ms (countdowns, "3 minutes ago").
export function useNow(every = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(id);
  }, [every]);
  return now;
}

// One button's work: busy while it runs, its error kept for the view to show.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (work) => {
    setBusy(true);
    setError(null);
    try {
      return await work();
    } catch (failure) {
      setError(failure);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}
