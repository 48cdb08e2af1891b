// The API reference: Swagger UI on the spec the fake serves, "try it" aimed at the fake,
// with an organizer's token filled in (the first organizer's, unless the user typed one).
"use strict";

(async () => {
  const field = document.getElementById("api-token");
  const KEY = "goevent-mock.api-token";
  let ui = null;

  async function defaultToken() {
    const box = Mock.get("box");
    if (box) return box; // a sandbox token is an API token of its own sandbox
    const answer = await Mock.call("GET", "state");
    if (!answer.ok) {
      Mock.problem(Mock.explain(answer, "Reading the organizers' tokens"));
      return "";
    }
    return (answer.data.organizers[0] || {}).token || "";
  }

  function authorize() {
    if (ui && field.value) ui.preauthorizeApiKey("bearerAuth", field.value);
  }

  Mock.bindAccess(async () => {
    if (!sessionStorage.getItem(KEY)) field.value = await defaultToken();
    authorize();
  });
  field.value = sessionStorage.getItem(KEY) || await defaultToken();
  field.addEventListener("change", () => {
    sessionStorage.setItem(KEY, field.value.trim());
    authorize();
  });

  ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger",
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
    // The spec itself is a /_mock resource: it goes with the admin token, if there is one.
    requestInterceptor: (request) => {
      if (request.loadSpec) Object.assign(request.headers, Mock.headers());
      return request;
    },
    onComplete: authorize,
  });
})();
