// The console: sign-in, the shell (top bar, navigation, language) and the views by route.
import "./styles.css";
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { apiBase, createApi } from "./api.js";
import { claims, cognitoSignOutUrl, finishCognitoSignIn, session } from "./auth.js";
import { App, useApp } from "./hooks.js";
import { I18n, LANGUAGES, initialLanguage, makeI18n, rememberLanguage, useI18n } from "./i18n.js";
import { href, match, usePath } from "./router.js";
import { ErrorMessage, Loading, Page } from "./ui.jsx";
import { SignIn } from "./views/signin.jsx";
import { Closed, Inbox } from "./views/inbox.jsx";
import { AppealPage } from "./views/appeal.jsx";
import { LeadPage } from "./views/lead.jsx";
import { OperatorDetail, Operators } from "./views/operators.jsx";
import { SourceDetail, Sources } from "./views/sources.jsx";
import { Dashboard } from "./views/dashboard.jsx";
import { Waiting } from "./views/waiting.jsx";
import { Deals, Funnel } from "./views/funnel.jsx";
import { Scoring } from "./views/scoring.jsx";
import { Jobs } from "./views/jobs.jsx";
import { Insight, SourceInsight } from "./views/insight.jsx";
import { MyHours, TeamWeek } from "./views/hours.jsx";

// [path pattern, view, who may open it, navigation label key (null: not in the menu)]
const ROUTES = [
  ["/inbox", Inbox, "operator", "nav.inbox"],
  ["/inbox/closed", Closed, "operator", "nav.closed"],
  ["/hours", MyHours, "operator", "nav.hours"],
  ["/dashboard", Dashboard, "admin", "nav.dashboard"],
  ["/insight", Insight, "admin", "nav.insight"],
  ["/waiting", Waiting, "admin", "nav.waiting"],
  ["/operators", Operators, "admin", "nav.operators"],
  ["/week", TeamWeek, "admin", "nav.week"],
  ["/sources", Sources, "admin", "nav.sources"],
  ["/funnel", Funnel, "admin", "nav.funnel"],
  ["/deals", Deals, "admin", "nav.deals"],
  ["/scoring", Scoring, "admin", "nav.scoring"],
  ["/jobs", Jobs, "admin", "nav.jobs"],
  ["/appeals/:appealId", AppealPage, "any", null],
  ["/leads/:leadId", LeadPage, "any", null],
  ["/operators/:operatorId", OperatorDetail, "admin", null],
  ["/sources/:sourceId", SourceDetail, "admin", null],
  ["/insight/:sourceId", SourceInsight, "admin", null],
];

const may = (me, who) =>
  who === "any" || (who === "admin" && me.role === "admin") || (who === "operator" && Boolean(me.operator));

// The menu entry a path belongs to: the longest pattern it starts with (/operators/op_1 → /operators).
const current = (path, links) =>
  links
    .map(([pattern]) => pattern)
    .filter((pattern) => path === pattern || path.startsWith(pattern + "/"))
    .sort((a, b) => b.length - a.length)[0];

const home = (me) => (me.operator && me.role !== "admin" ? "/inbox" : me.role === "admin" ? "/dashboard" : "/inbox");

function Root() {
  const [lang, setLang] = useState(initialLanguage);
  const i18n = useMemo(() => makeI18n(lang), [lang]);
  const { t } = i18n;
  const [config, setConfig] = useState(null);
  const [bootError, setBootError] = useState(null);
  const [token, setToken] = useState(session.get());
  const [me, setMe] = useState(null);
  const [meError, setMeError] = useState(null);
  const [why, setWhy] = useState(null);
  const [announcement, setAnnouncement] = useState("");

  useEffect(() => rememberLanguage(lang), [lang]);

  const signOut = useCallback(
    (reason = null) => {
      session.clear();
      setToken(null);
      setMe(null);
      setWhy(reason);
      if (reason === null && config && config.auth === "cognito") location.assign(cognitoSignOutUrl(config.cognito));
    },
    [config],
  );

  const api = useMemo(
    () =>
      config &&
      createApi({
        base: apiBase(config),
        token: session.get,
        onUnauthorized: () => signOut("signin.ended"),
      }),
    [config, signOut],
  );

  // Sign-in settings, then (back from Cognito) the code-for-token exchange.
  useEffect(() => {
    (async () => {
      try {
        const response = await fetch("config.json", { cache: "no-store", credentials: "omit" });
        if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
        const loaded = await response.json();
        if (loaded.auth === "cognito") {
          try {
            const fresh = await finishCognitoSignIn(loaded.cognito);
            if (fresh) setToken(fresh);
          } catch (error) {
            setWhy({ key: "signin.cognito_failed", detail: String(error.message || error) });
          }
        }
        setConfig(loaded);
      } catch (error) {
        setBootError(error);
      }
    })();
  }, []);

  // Who am I: decides the menu and the start page.
  useEffect(() => {
    if (!api || !token) return;
    setMeError(null);
    api.get("/me").then(setMe, (error) => error.status !== 401 && setMeError(error));
  }, [api, token]);

  // Sign out when the token expires, with a word why.
  const exp = token ? (claims(token) || {}).exp : null;
  useEffect(() => {
    if (!exp) return undefined;
    const left = exp * 1000 - Date.now();
    const id = setTimeout(() => signOut("signin.expired"), Math.max(0, Math.min(left, 2 ** 31 - 1)));
    return () => clearTimeout(id);
  }, [exp, signOut]);

  const announce = useCallback((text) => {
    setAnnouncement("");
    setTimeout(() => setAnnouncement(text), 50);
  }, []);

  const context = useMemo(
    () => ({ api, me, config, announce, refreshMe: async () => setMe(await api.get("/me")), signOut, lang, setLang }),
    [api, me, config, announce, signOut, lang],
  );

  let body;
  if (bootError) {
    body = (
      <main id="main" class="center">
        <ErrorMessage error={bootError} />
      </main>
    );
  } else if (!config) {
    body = (
      <main id="main" class="center">
        <Loading />
      </main>
    );
  } else if (!token) {
    body = <SignIn config={config} api={api} why={why} onSignedIn={(value) => (setWhy(null), setToken(value))} />;
  } else if (!me) {
    body = (
      <main id="main" class="center">
        {meError ? <ErrorMessage error={meError} /> : <Loading />}
      </main>
    );
  } else {
    body = <Shell me={me} />;
  }

  return (
    <I18n.Provider value={i18n}>
      <App.Provider value={context}>
        <div class="app" lang={lang}>
          {body}
          {!me && (
            <div class="language-footer">
              <LanguageSelect lang={lang} setLang={setLang} />
            </div>
          )}
          <div class="sr-only" aria-live="polite" aria-atomic="true">
            {announcement}
          </div>
        </div>
      </App.Provider>
    </I18n.Provider>
  );
}

export function LanguageSelect({ lang, setLang }) {
  const { t } = useI18n();
  return (
    <label class="language">
      <span>{t("common.language")}</span>
      <select value={lang} onChange={(e) => setLang(e.currentTarget.value)}>
        {LANGUAGES.map((language) => (
          <option key={language.code} value={language.code} lang={language.code}>
            {language.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell({ me }) {
  const { t } = useI18n();
  const { signOut, config, lang, setLang } = useApp();
  const typed = usePath();
  // The bare address opens the start page for the role (and says so in the address bar).
  const path = typed === "/" || typed === "" ? home(me) : typed;
  useEffect(() => {
    if (path !== typed) history.replaceState(null, "", "#" + path);
  }, [path, typed]);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);

  const found = ROUTES.map(([pattern, View, who]) => [match(pattern, path), View, who]).find(([params]) => params);
  const links = ROUTES.filter(([, , who, label]) => label && may(me, who));
  const name = me.operator ? me.operator.name : t(`role.${me.role}`);

  let view;
  if (!found) {
    view = (
      <Page title={t("notfound.title")}>
        <p>
          {t("notfound.text")} <a href={href(home(me))}>{t("notfound.home")}</a>
        </p>
      </Page>
    );
  } else if (!may(me, found[2])) {
    view = (
      <Page title={t("forbidden.title")}>
        <div class="alert alert-error" role="alert">
          <p class="alert-title">{t("error.403")}</p>
          <p>{t(found[2] === "admin" ? "forbidden.admin" : "forbidden.operator")}</p>
        </div>
        <p>
          <a href={href(home(me))}>{t("notfound.home")}</a>
        </p>
      </Page>
    );
  } else {
    const [params, View] = found;
    view = <View {...params} key={path} />;
  }

  const skip = (event) => {
    event.preventDefault();
    document.querySelector("main h1")?.focus();
  };

  return (
    <div class="shell">
      <a class="skip" href="#main-content" onClick={skip}>
        {t("common.skip")}
      </a>
      <header class="topbar">
        <a class="brand" href={href(home(me))}>
          <span class="brand-mark" aria-hidden="true">
            L
          </span>
          LeadCRM
        </a>
        <button
          type="button"
          class="btn btn-ghost menu-toggle"
          aria-expanded={menuOpen ? "true" : "false"}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          {t("nav.menu")}
        </button>
        <div class="topbar-right">
          <LanguageSelect lang={lang} setLang={setLang} />
          <span class="who" title={me.subject}>
            {name}
            {me.operator && <span class="who-role">{t(`role.${me.role}`)}</span>}
          </span>
          <button type="button" class="btn btn-ghost" onClick={() => signOut(null)}>
            {t("nav.signout")}
          </button>
        </div>
      </header>
      <div class="body">
        <nav id="main-nav" class={menuOpen ? "nav open" : "nav"} aria-label={t("nav.label")}>
          <ul>
            {links.map(([pattern, , , label]) => (
              <li key={pattern}>
                <a href={href(pattern)} aria-current={current(path, links) === pattern ? "page" : undefined}>
                  {t(label)}
                </a>
              </li>
            ))}
          </ul>
          {config.auth === "token" && <p class="nav-note">{t("nav.local")}</p>}
        </nav>
        <main id="main-content" class="main" data-path={path}>
          {view}
        </main>
      </div>
    </div>
  );
}

const root = document.getElementById("app");
root.textContent = "";
render(<Root />, root);
