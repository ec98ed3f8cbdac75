// The event explorer: a small script over the audit API, no build step, no other origin.
// Everything shown is written with textContent (never as HTML): event data is untrusted text.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  let token = null;
  let lastAfter = 0;
  let stream = null; // {id, events: [...], latest, version}

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.code = problem && problem.code;
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (options.body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { ...options, headers, credentials: "omit" });
    const text = await response.text();
    const body = text ? JSON.parse(text) : null;
    if (response.status === 401 && token) signOut("Your session ended; sign in again.");
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  // --- sign in -------------------------------------------------------------------------
  let challenge = null;

  async function signIn(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      let answer;
      if (challenge) {
        const code = $("code").value.trim();
        const second = code.includes("-") ? { challenge, recovery_code: code } : { challenge, code };
        answer = await api("/api/v1/auth/login/2fa", { method: "POST", body: JSON.stringify(second) });
      } else {
        const credentials = { email: $("email").value, password: $("password").value };
        answer = await api("/api/v1/auth/login", { method: "POST", body: JSON.stringify(credentials) });
      }
      if (answer.second_factor_required) {
        challenge = answer.challenge;
        $("code-label").hidden = false;
        $("code").focus();
        return;
      }
      token = answer.access_token;
      challenge = null;
      $("password").value = "";
      $("code").value = "";
      $("code-label").hidden = true;
      $("whoami").textContent = $("email").value;
      $("login").hidden = true;
      $("session").hidden = false;
      $("log").hidden = false;
      checkChain();
      await showLog(0);
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  }

  function signOut(message) {
    if (token) {
      const ended = token;
      token = null;
      fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${ended}` } }).catch(() => {});
    }
    $("login").hidden = false;
    $("session").hidden = true;
    $("log").hidden = true;
    $("stream").hidden = true;
    $("login-error").textContent = typeof message === "string" ? message : "";
  }

  // --- the chain's verification status (GET /api/v1/audit/verify) ----------------------
  async function checkChain() {
    const badge = $("chain-status");
    badge.className = "chain";
    badge.textContent = "chain: checking…";
    try {
      // The whole stored chain, recomputed by the server: ok, how many links, or the first bad position.
      const verdict = await api("/api/v1/audit/verify");
      badge.className = verdict.ok ? "chain ok" : "chain bad";
      badge.textContent = verdict.ok
        ? `chain verified: ${verdict.checked} events${verdict.head_position ? ` to position ${verdict.head_position}` : ""}`
        : `chain broken at position ${verdict.first_bad_position}`;
      badge.title = verdict.problem || "GET /api/v1/audit/verify";
    } catch (error) {
      badge.textContent = error.status === 404 ? "chain: not available on this server" : `chain: ${error.message}`;
    }
  }

  // --- the global log ------------------------------------------------------------------
  function instant(input) {
    // A datetime-local value is the browser's local time: sent as an instant in UTC.
    return input.value ? new Date(input.value).toISOString() : null;
  }

  function filterParams() {
    const params = new URLSearchParams();
    const fields = { stream_id: $("f-stream"), type: $("f-type"), actor: $("f-actor"), correlation_id: $("f-correlation") };
    for (const [name, input] of Object.entries(fields)) {
      if (input.value.trim()) params.set(name, input.value.trim());
    }
    const since = instant($("f-since"));
    const before = instant($("f-before"));
    if (since) params.set("since", since);
    if (before) params.set("before", before);
    return params;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text ?? "";
    row.appendChild(td);
    return td;
  }

  function linkCell(row, text, className, onClick) {
    const td = document.createElement("td");
    if (text) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = className;
      button.textContent = text;
      button.addEventListener("click", onClick);
      td.appendChild(button);
    }
    row.appendChild(td);
  }

  function follow(input, value) {
    $("f-stream").value = "";
    $("f-type").value = "";
    $("f-actor").value = "";
    $("f-correlation").value = "";
    $("f-since").value = "";
    $("f-before").value = "";
    input.value = value;
    $("stream").hidden = true;
    $("log").hidden = false;
    showLog(0);
  }

  async function showLog(after, append = false) {
    $("log-error").textContent = "";
    const params = filterParams();
    params.set("after", String(after));
    params.set("limit", String(PAGE));
    const table = $("log-table");
    table.dataset.pending = String(Number(table.dataset.pending || 0) + 1);
    try {
      const page = await api(`/api/v1/audit/events?${params}`);
      const body = $("log-table").tBodies[0];
      if (!append) body.replaceChildren();
      for (const event of page.items) {
        const row = document.createElement("tr");
        row.className = "event";
        row.dataset.position = String(event.position);
        row.dataset.type = event.type;
        cell(row, String(event.position));
        cell(row, event.timestamp);
        cell(row, event.type);
        linkCell(row, event.stream_id, "stream-link", () => openStream(event.stream_id, event.version));
        cell(row, String(event.version));
        linkCell(row, event.actor, "actor-link", () => follow($("f-actor"), event.actor));
        linkCell(row, event.correlation_id, "correlation-link", () => follow($("f-correlation"), event.correlation_id));
        body.appendChild(row);
      }
      lastAfter = page.next_after;
      $("more").hidden = !page.has_more;
      const shown = body.rows.length;
      $("log-note").textContent =
        `${shown} event${shown === 1 ? "" : "s"} shown` +
        (page.indexed_to === null ? "" : ` (the audit index has reached position ${page.indexed_to})`);
    } catch (error) {
      $("log-error").textContent = error.message;
    } finally {
      table.dataset.pending = String(Number(table.dataset.pending) - 1);
    }
  }

  // --- one stream: its versions, its state at each, at an instant ------------------------
  async function openStream(streamId, version) {
    $("stream-error").textContent = "";
    try {
      const answer = await api(`/api/v1/audit/streams/${encodeURIComponent(streamId)}/events`);
      stream = { id: streamId, events: answer.events, latest: answer.events.length, version: null };
      $("stream-id").textContent = streamId;
      $("stream-latest").textContent = String(stream.latest);
      const list = $("versions");
      list.replaceChildren();
      for (const event of answer.events) {
        const item = document.createElement("li");
        item.dataset.version = String(event.version);
        item.textContent = `${event.type} · ${event.timestamp ?? ""} · ${event.actor ?? ""}`;
        item.addEventListener("click", () => showState({ version: event.version }));
        list.appendChild(item);
      }
      $("log").hidden = true;
      $("stream").hidden = false;
      await showState({ version: version || stream.latest });
    } catch (error) {
      $("stream-error").textContent = error.message;
    }
  }

  async function showState(which) {
    $("stream-error").textContent = "";
    const params = new URLSearchParams();
    if (which.version) params.set("version", String(which.version));
    if (which.at) params.set("at", which.at);
    try {
      const state = await api(`/api/v1/audit/streams/${encodeURIComponent(stream.id)}/state?${params}`);
      stream.version = state.version;
      $("state-version").textContent = String(state.version);
      $("state-type").textContent = state.type;
      $("state-json").textContent = JSON.stringify(state.state, null, 2);
      const event = stream.events.find((e) => e.version === state.version);
      $("event-json").textContent = event ? JSON.stringify(event, null, 2) : "";
      for (const item of $("versions").children) {
        item.classList.toggle("current", item.dataset.version === String(state.version));
      }
      $("prev-version").disabled = state.version <= 1;
      $("next-version").disabled = state.version >= stream.latest;
    } catch (error) {
      $("stream-error").textContent = error.message;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut());
    $("chain-status").addEventListener("click", checkChain);
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      showLog(Number($("f-after").value) || 0);
    });
    $("clear").addEventListener("click", () => follow($("f-after"), "0"));
    $("more").addEventListener("click", () => showLog(lastAfter, true));
    $("prev-version").addEventListener("click", () => showState({ version: stream.version - 1 }));
    $("next-version").addEventListener("click", () => showState({ version: stream.version + 1 }));
    $("latest-version").addEventListener("click", () => showState({ version: stream.latest }));
    $("at-go").addEventListener("click", () => {
      const at = instant($("at-input"));
      if (at) showState({ at });
    });
    $("back-to-log").addEventListener("click", () => {
      $("stream").hidden = true;
      $("log").hidden = false;
    });
  });
})();
