all = 'write.education write.english_proficiency write.microcredential write.digital_identity read.digital_identity'
Doorkeeper::Application.create!(name: 'demo', uid: 'demo-client', secret: 'demo-secret',
                                scopes: all, confidential: true, redirect_uri: nil)
# A secret with every character that form-urlencoding changes (REFERENCE §2, cases 24a-24c).
# The fleet test's own client, so its token count is not mixed with other tests'.
Doorkeeper::Application.create!(name: 'fleet', uid: 'fleet-client', secret: 'fleet-secret',
                                scopes: all, confidential: true, redirect_uri: nil)
Doorkeeper::Application.create!(name: 'special', uid: 'special-client', secret: 's+e/c=r:e%t &x',
                                scopes: 'write.education', confidential: true, redirect_uri: nil)
# The issuing-option tests' own clients (ISSUING=reuse or revoke changes what each request does
# to the client's other tokens), one per test so parallel tests do not revoke each other's.
(1..12).each do |n|
  Doorkeeper::Application.create!(name: "issuing-#{n}", uid: "issuing-#{n}", secret: 'issuing-secret',
                                  scopes: all, confidential: true, redirect_uri: nil)
end
# The rotation test's own client, whose secret the test changes through /interop/secret.
Doorkeeper::Application.create!(name: 'rotation', uid: 'rotation-client', secret: 'rotation-secret-1',
                                scopes: all, confidential: true, redirect_uri: nil)
# The command's cache test's own client, so its count of issued tokens is its own.
Doorkeeper::Application.create!(name: 'cache', uid: 'cache-client', secret: 'cache-secret',
                                scopes: all, confidential: true, redirect_uri: nil)
# The pool test's 200 applications, one per institution a platform serves: pool-1 to pool-200,
# each with its own secret, pool-secret-N.
(1..200).each do |n|
  Doorkeeper::Application.create!(name: "pool-#{n}", uid: "pool-#{n}", secret: "pool-secret-#{n}",
                                  scopes: all, confidential: true, redirect_uri: nil)
end
