"""Server-side Lua scripts: each decision is one atomic round trip on the server's clock.

Times are milliseconds from ``redis.call('TIME')``, so replicas whose clocks disagree still agree
on the rate limit and on "open until". Numbers are stored with ``%.3f`` (never ``tostring``, whose
``%.14g`` would switch to exponent notation for large values).
"""

from __future__ import annotations

__all__ = ["ADMIT", "EXTEND", "RELEASE", "REPORT"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

ADMIT = (
    _NOW
    + """
-- KEYS: 1 rate cell, 2 open-until, 3 probe token, 4 retry budget
-- ARGV: 1 emission interval ms (0: no limit), 2 burst, 3 retry (0/1), 4 retry ratio,
--       5 retry tokens per ms, 6 retry cap, 7 probe ttl ms, 8 probe token
-- returns {code, retry_after_ms (string), probe (0/1)}
--   code 0 admitted, 1 breaker open, 2 rate limited, 3 retry budget spent
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local probe = 0
local open = redis.call('GET', KEYS[2])
if open then
  local open_until = tonumber(open)
  if open_until and now < open_until then
    return {1, string.format('%.3f', open_until - now), 0}
  end
  local left = redis.call('PTTL', KEYS[3])
  if left > 0 then
    return {1, string.format('%.3f', left), 0}
  end
  probe = 1
end
local new_tat = nil
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
  if tat < now then tat = now end
  new_tat = tat + interval
  local excess = new_tat - now - burst * interval
  -- above rounding noise (1 microsecond): with burst 1 and an idle cell, excess is 0 plus
  -- floating-point noise, which must not refuse the attempt
  if excess > 0.001 then
    return {2, string.format('%.3f', excess), 0}
  end
end
local cap = tonumber(ARGV[6])
local per_ms = tonumber(ARGV[5])
local b = redis.call('HMGET', KEYS[4], 'tokens', 't')
local tokens = tonumber(b[1]) or cap
local since = now - (tonumber(b[2]) or now)
if since < 0 then since = 0 end
tokens = math.min(cap, tokens + per_ms * since)
if ARGV[3] == '1' then
  if tokens < 1 then
    local wait = -1
    if per_ms > 0 then wait = (1 - tokens) / per_ms end
    return {3, string.format('%.3f', wait), 0}
  end
  tokens = tokens - 1
else
  tokens = math.min(cap, tokens + tonumber(ARGV[4]))
end
if new_tat then
  redis.call('SET', KEYS[1], string.format('%.3f', new_tat),
             'PX', math.ceil(new_tat - now) + 1000)
end
redis.call('HSET', KEYS[4], 'tokens', string.format('%.3f', tokens), 't', now)
redis.call('PEXPIRE', KEYS[4], 600000)
if probe == 1 then
  redis.call('SET', KEYS[3], ARGV[8], 'PX', ARGV[7])
end
return {0, '0', probe}
"""
)

REPORT = (
    _NOW
    + """
-- KEYS: 1 open-until, 2 probe token
-- ARGV: 1 kind ('open' | 'close' | 'reopen' | 'free'), 2 ms (open for), 3 probe token,
--       4 ms to keep the open-until key beyond its deadline
local kind = ARGV[1]
if kind == 'open' then
  local until_ms = now + tonumber(ARGV[2])
  local old = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
  if old > until_ms then until_ms = old end
  redis.call('SET', KEYS[1], string.format('%.3f', until_ms),
             'PX', math.ceil(until_ms - now) + tonumber(ARGV[4]))
  return 1
end
if redis.call('GET', KEYS[2]) ~= ARGV[3] then
  return 0
end
redis.call('DEL', KEYS[2])
if kind == 'close' then
  redis.call('DEL', KEYS[1])
elseif kind == 'reopen' then
  local until_ms = now + tonumber(ARGV[2])
  redis.call('SET', KEYS[1], string.format('%.3f', until_ms),
             'PX', math.ceil(until_ms - now) + tonumber(ARGV[4]))
end
return 1
"""
)

RELEASE = """
-- compare-and-delete: only the holder's token releases the lease
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

EXTEND = """
-- compare-and-extend
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
