// The Step Functions JSON API, called from the page exactly as the SDKs call it: POST to the
// origin's root with X-Amz-Target. Under `stepwise console` the origin forwards it signed.

export class ApiError extends Error {
  constructor(type, message, status) {
    super(`${type}: ${message}`);
    this.type = type;
    this.status = status;
  }
}

export async function call(action, body = {}) {
  const response = await fetch("/", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": `AWSStepFunctions.${action}`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let out = {};
  try {
    out = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError("InvalidResponse", text.slice(0, 200), response.status);
  }
  if (!response.ok) {
    const type = String(out.__type || "Error").split("#").pop();
    throw new ApiError(type, out.message || out.Message || text, response.status);
  }
  return out;
}

// Every page of a list action, up to `cap` items.
export async function all(action, body, key, cap = 100000) {
  const items = [];
  let nextToken;
  do {
    const page = await call(action, { ...body, maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
    items.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken && items.length < cap);
  return items;
}
