# Configured like the SEEK Pass token endpoint (REFERENCE §3).
Doorkeeper.configure do
  orm :active_record
  api_only
  grant_flows %w[client_credentials]
  client_credentials :from_basic, :from_params
  optional_scopes 'write.education', 'write.english_proficiency', 'write.microcredential',
                  'write.digital_identity', 'read.digital_identity'
  enforce_configured_scopes
  access_token_expires_in ENV.fetch('TOKEN_LIFETIME', '7200').to_i.seconds
  # The two options that change issuing, as switches (ISSUING=reuse or ISSUING=revoke):
  # reuse_access_token answers a request with the client's unexpired token, if it has one;
  # revoke_previous_client_credentials_token revokes the client's token when it issues a new
  # one (and answers invalid_token_reuse to a request that loses the race for it).
  case ENV.fetch('ISSUING', 'plain')
  when 'reuse' then reuse_access_token
  when 'revoke' then revoke_previous_client_credentials_token
  when 'plain' then nil
  else raise "ISSUING=#{ENV['ISSUING']}: use plain, reuse or revoke"
  end
end
