--[[
  Publishes an artifact whose chunks are already written: first writer wins.

  KEYS[1] manifest key      KEYS[2] index set of artifact keys
  ARGV[1] manifest JSON     ARGV[2] artifact key   ARGV[3] retention TTL in seconds (0 = keep)
  ARGV[4] extra seconds chunks outlive their manifest   ARGV[5] "replace" or "keep"   ARGV[6..] this writer's chunk keys

  Returns the stored manifest JSON: ours if we won, the existing one if another writer did. Chunks are
  written with a short TTL so a crashed writer's leave nothing behind; the winner's chunks get the
  retention TTL (or none) here, atomically with the manifest, so a visible manifest always has its chunks.
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
if ttl > 0 then
  redis.call("SET", KEYS[1], ARGV[1], "EX", ttl)
  for i = 6, #ARGV do redis.call("EXPIRE", ARGV[i], ttl + tonumber(ARGV[4])) end
else
  redis.call("SET", KEYS[1], ARGV[1])
  for i = 6, #ARGV do redis.call("PERSIST", ARGV[i]) end
end
redis.call("SADD", KEYS[2], ARGV[2])
return ARGV[1]
