--[[
  Stores a small artifact in one step: its chunks and its manifest together, first writer wins. (Large
  artifacts stream their chunks first and publish with commit-artifact.lua.)

  KEYS[1] manifest key      KEYS[2] index set of artifact keys
  ARGV[1] manifest JSON     ARGV[2] artifact key   ARGV[3] retention TTL in seconds (0 = keep)
  ARGV[4] extra seconds chunks outlive their manifest   ARGV[5] "replace" or "keep"   ARGV[6..] pairs: chunk key, chunk bytes

  Returns 1 when it wrote ours, else the existing manifest JSON (another writer won, or this put ran once
  already: then nothing is written). Atomic: a reader sees the whole artifact or none of it.
]]
local existing = redis.call("GET", KEYS[1])
if existing then
  if ARGV[5] ~= "replace" then
    return existing
  end
  -- Replacing (a forced recompute): the old artifact's chunks go with it, unless they are ours (this put
  -- sent again after a dropped connection). Chunk keys are "<manifest key>:<upload>:<file>:<chunk>".
  local old = cjson.decode(existing)
  local ours = cjson.decode(ARGV[1])
  if old.upload ~= ours.upload then
    for f, n in ipairs(old.chunks) do
      for c = 0, n - 1 do redis.call("DEL", KEYS[1] .. ":" .. old.upload .. ":" .. (f - 1) .. ":" .. c) end
    end
  end
end
local ttl = tonumber(ARGV[3])
for i = 6, #ARGV, 2 do
  if ttl > 0 then
    redis.call("SET", ARGV[i], ARGV[i + 1], "EX", ttl + tonumber(ARGV[4]))
  else
    redis.call("SET", ARGV[i], ARGV[i + 1])
  end
end
if ttl > 0 then
  redis.call("SET", KEYS[1], ARGV[1], "EX", ttl)
else
  redis.call("SET", KEYS[1], ARGV[1])
end
redis.call("SADD", KEYS[2], ARGV[2])
return 1
