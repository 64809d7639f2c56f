--[[
  Removes an artifact: its manifest first (readers then see "absent", never "half"), then its chunks.

  KEYS[1] manifest key   KEYS[2] index set   ARGV[1] artifact key   ARGV[2..] chunk keys
  Returns 1 if the artifact existed, 0 if not.
]]
local existed = redis.call("DEL", KEYS[1])
redis.call("SREM", KEYS[2], ARGV[1])
for i = 2, #ARGV do redis.call("DEL", ARGV[i]) end
return existed
