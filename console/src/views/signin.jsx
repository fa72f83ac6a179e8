import { useState } from "preact/hooks";
import { looksLikeJwt, session, startCognitoSignIn } from "../auth.js";
import { useI18n } from "../i18n.js";
import { Button, ErrorMessage } from "../ui.jsx";

// Locally: paste a token from `make token`. With Cognito configured: its hosted UI.
export function SignIn({ config, api, why, onSignedIn }) {
  const { t } = useI18n();
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setProblem(null);
    setError(null);
    const value = token.trim().replace(/^Bearer\s+/i, "");
    if (!looksLikeJwt(value)) {
      setProblem(t("signin.not_a_token"));
      return;
    }
    setBusy(true);
    session.set(value);
    try {
      // Checked before we let it in: a refused token never reaches the shell.
      await api.request("GET", "/me", { probe: true });
      onSignedIn(value);
    } catch (failure) {
      session.clear();
      if (failure.status === 401) setProblem(t("signin.refused"));
      else setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const reason = why && (typeof why === "string" ? { key: why } : why);
  return (
    <main id="main" class="signin">
      <div class="signin-card">
        <p class="brand signin-brand">
          <span class="brand-mark" aria-hidden="true">
            L
          </span>
          LeadCRM
        </p>
        <h1>{t("signin.title")}</h1>
        {reason && (
          <div class="alert alert-warning" role="status">
            <p>{t(reason.key)}</p>
            {reason.detail && <p>{reason.detail}</p>}
          </div>
        )}
        {config.auth === "cognito" ? (
          <>
            <p class="muted">{t("signin.cognito_text")}</p>
            <Button kind="primary" busy={busy} onClick={() => (setBusy(true), startCognitoSignIn(config.cognito))}>
              {t("signin.cognito")}
            </Button>
          </>
        ) : (
          <form onSubmit={submit} novalidate>
            <div class="field">
              <label for="token">{t("signin.token")}</label>
              <textarea
                id="token"
                name="token"
                rows={5}
                autocomplete="off"
                spellcheck={false}
                aria-describedby="token-hint"
                aria-invalid={problem ? "true" : undefined}
                value={token}
                onInput={(e) => setToken(e.currentTarget.value)}
              />
              <p class="hint" id="token-hint">
                {t("signin.token_hint")} <code>make token</code>, <code>make token ROLE=operator OPERATOR_ID=op_…</code>
              </p>
            </div>
            {problem && (
              <p class="field-error" role="alert">
                {problem}
              </p>
            )}
            <ErrorMessage error={error} />
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {t("signin.submit")}
            </button>
            <p class="hint">{t("signin.kept")}</p>
          </form>
        )}
      </div>
    </main>
  );
}
