// Passkeys in the portal: the one script it has, served by Tessera itself (no third party).
// A form marked data-passkey="get" (sign in, confirm) or "create" (add a passkey) carries the
// server's options as JSON in data-options; on submit the browser runs the passkey ceremony
// and the form goes on with its result in the `credential` field. Without script the page says
// to use another way; nothing else on the portal needs script.
(() => {
  for (const form of document.querySelectorAll("form[data-passkey]")) {
    form.addEventListener("submit", async (event) => {
      if (form.elements.credential.value) return;
      event.preventDefault();
      const options = JSON.parse(form.dataset.options);
      try {
        const credential = form.dataset.passkey === "create"
          ? await navigator.credentials.create({
              publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
            })
          : await navigator.credentials.get({
              publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
            });
        form.elements.credential.value = JSON.stringify(credential.toJSON());
      } catch (refused) {
        form.elements.credential.value = "{}";  // cancelled or no passkey: the server says so
      }
      form.submit();
    });
  }
})();
