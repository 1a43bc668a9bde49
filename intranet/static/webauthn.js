// Security keys (WebAuthn): registration by a supervisor, and the login step.
// Forms marked data-webauthn="register" or "login" are driven from here; the
// server sends options and receives credentials as JSON (intranet/security/keys.py).
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, form, fields) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    Object.keys(fields).forEach(function (k) { body.set(k, fields[k]); });
    return fetch(url, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (r) { return r.json(); });
  }

  function descriptors(list) {
    return (list || []).map(function (d) { return {type: d.type, id: toBytes(d.id), transports: d.transports}; });
  }

  function show(form, message) {
    var box = form.querySelector("[data-webauthn-error]");
    box.textContent = message;
    box.hidden = false;
  }

  function register(form) {
    return post(form.dataset.options, form, {}).then(function (data) {
      var o = JSON.parse(data.options);
      o.challenge = toBytes(o.challenge);
      o.user.id = toBytes(o.user.id);
      o.excludeCredentials = descriptors(o.excludeCredentials);
      return navigator.credentials.create({publicKey: o});
    }).then(function (cred) {
      var json = {id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, clientExtensionResults: {},
                  response: {clientDataJSON: toB64url(cred.response.clientDataJSON),
                             attestationObject: toB64url(cred.response.attestationObject),
                             transports: cred.response.getTransports ? cred.response.getTransports() : []}};
      return post(form.action, form, {credential: JSON.stringify(json), label: form.elements.label.value});
    });
  }

  function login(form) {
    return post(form.dataset.options, form, {}).then(function (data) {
      if (data.error) { throw new Error(data.error); }
      var o = JSON.parse(data.options);
      o.challenge = toBytes(o.challenge);
      o.allowCredentials = descriptors(o.allowCredentials);
      return navigator.credentials.get({publicKey: o});
    }).then(function (cred) {
      var r = cred.response;
      var json = {id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, clientExtensionResults: {},
                  response: {clientDataJSON: toB64url(r.clientDataJSON),
                             authenticatorData: toB64url(r.authenticatorData),
                             signature: toB64url(r.signature),
                             userHandle: r.userHandle ? toB64url(r.userHandle) : null}};
      return post(form.action, form, {credential: JSON.stringify(json), next: form.elements.next.value});
    });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.PublicKeyCredential) { show(form, form.dataset.unsupported); return; }
      var run = form.dataset.webauthn === "register" ? register : login;
      run(form).then(function (result) {
        if (result.redirect) { window.location.assign(result.redirect); }
        else { show(form, result.error || form.dataset.failed); }
      }).catch(function () { show(form, form.dataset.failed); });
    });
  });
})();
