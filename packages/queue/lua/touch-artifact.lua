--[[
  Refreshes the retention TTL of an artifact that was just read (retention counts from last use).

  KEYS[1] manifest key   ARGV[1] TTL seconds   ARGV[2] extra seconds for chunks   ARGV[3..] chunk keys
  Chunks always outlive their manifest, so an expiring artifact disappears whole.
]]
if redis.call("EXPIRE", KEYS[1], tonumber(ARGV[1])) == 0 then
  return 0
end
for i = 3, #ARGV do redis.call("EXPIRE", ARGV[i], tonumber(ARGV[1]) + tonumber(ARGV[2])) end
return 1
