// The handler chain's filters before any handler runs: bearer-token authentication and RBAC authorization.
import type { IncomingMessage } from "node:http";
import { Authorizer, type Attributes, type Tokens, type UserInfo } from "./rbac.js";
import type { Route } from "./request-info.js";
import { StatusError } from "./status.js";

export function authenticate(tokens: Tokens, req: IncomingMessage): UserInfo {
  const h = req.headers.authorization ?? "";
  const m = h.match(/^Bearer\s+(.+)$/i);
  const user = m ? tokens.lookup(m[1]!.trim()) : undefined;
  if (!user) throw new StatusError(401, "Unauthorized", "Unauthorized");
  return user;
}

export function authorizeNonResource(
  authorizer: Authorizer,
  user: UserInfo,
  verb: string,
  path: string,
): void {
  const attrs: Attributes = { verb, apiGroup: "", resource: "", path };
  if (!authorizer.allowed(user, attrs))
    throw new StatusError(403, "Forbidden", Authorizer.forbiddenMessage(user, attrs));
}

export function authorizeResource(
  authorizer: Authorizer,
  user: UserInfo,
  verb: string,
  route: Route,
): void {
  const attrs: Attributes = {
    verb,
    apiGroup: route.info.group,
    resource: route.info.resource,
    ...(route.subresource ? { subresource: route.subresource } : {}),
    ...(route.namespace ? { namespace: route.namespace } : {}),
    ...(route.name ? { name: route.name } : {}),
  };
  if (!authorizer.allowed(user, attrs)) {
    throw new StatusError(403, "Forbidden", Authorizer.forbiddenMessage(user, attrs), {
      ...(route.name ? { name: route.name } : {}),
      group: route.info.group,
      kind: route.info.resource,
    });
  }
}
