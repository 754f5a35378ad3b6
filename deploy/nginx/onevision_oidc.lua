-- Single sign-on for One Vision with lua-resty-openidc (OpenResty): authenticates the user against the
-- administration's OpenID Connect provider, then exposes the user id, the groups and the proxy secret to
-- nginx ($onevision_user, $onevision_groups, $onevision_proxy_secret), which pass them to the application.
-- Configuration from nginx's environment (see onevision.conf); nothing secret in this file.

local openidc = require("resty.openidc")

local M = {}

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    ngx.log(ngx.ERR, "One Vision: variable ", name, " absente de l'environnement de nginx")
    ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
  end
  return value
end

local function options()
  return {
    discovery = env("ONEVISION_OIDC_DISCOVERY"),
    client_id = env("ONEVISION_OIDC_CLIENT_ID"),
    client_secret = env("ONEVISION_OIDC_CLIENT_SECRET"),
    redirect_uri = "/oidc/callback",
    logout_path = "/deconnexion",
    post_logout_redirect_uri = "/",
    scope = "openid profile groups",
    token_endpoint_auth_method = "client_secret_post",
    ssl_verify = "yes",
    renew_access_token_on_expiry = true,
    -- the groups claim is read from the ID token, or else from the userinfo endpoint
    session_contents = { id_token = true, user = true },
  }
end

local session_options = function()
  return { secret = env("ONEVISION_OIDC_SESSION_SECRET"), cookie_name = "onevision_session",
           cookie_samesite = "Lax", cookie_secure = true, cookie_httponly = true }
end

local function claim_groups(res)
  local groups = (res.id_token and res.id_token.groups) or (res.user and res.user.groups) or {}
  if type(groups) == "string" then
    groups = { groups }
  end
  local clean = {}
  for _, g in ipairs(groups) do
    -- matched exactly (issue 20): a top-level path "/onevision-national" is the group "onevision-national";
    -- a nested one ("/any-parent/onevision-national") keeps its parent and so grants nothing in the
    -- application, which only knows the exact names; a name with a comma would split into two groups: dropped
    local name = tostring(g):gsub("^/", "", 1)
    if name ~= "" and not name:find(",") then
      table.insert(clean, name)
    end
  end
  return clean
end

-- `required_group`: nil for the application (its own rules decide), "onevision-operateurs" for the Dagster UI
function M.authenticate(required_group)
  local res, err = openidc.authenticate(options(), nil, nil, session_options())
  if err or not res then
    ngx.log(ngx.ERR, "One Vision: authentification impossible: ", err)
    ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
  end
  local user = (res.id_token and (res.id_token.preferred_username or res.id_token.sub)) or ""
  local groups = claim_groups(res)
  if required_group then
    local member = false
    for _, g in ipairs(groups) do
      if g == required_group then member = true end
    end
    if not member then
      ngx.exit(ngx.HTTP_FORBIDDEN)
    end
  end
  ngx.var.onevision_user = user
  ngx.var.onevision_groups = table.concat(groups, ",")
  ngx.var.onevision_proxy_secret = env("ONEVISION_PROXY_SECRET")
end

function M.logout()
  openidc.authenticate(options(), nil, nil, session_options())  -- logout_path: ends the session
end

return M
