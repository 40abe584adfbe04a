Rails.application.routes.draw do
  scope 'api/partner/v1', as: 'partner_v1', defaults: { format: :json } do
    use_doorkeeper do
      skip_controllers :authorizations, :applications, :authorized_applications
    end
  end
  get '/up', to: proc { [200, { 'Content-Type' => 'text/plain' }, ['ok']] }
  # For the tests only: when each token of one application was issued (its rows in
  # oauth_access_tokens), as milliseconds since the Unix epoch.
  get '/interop/issued/:uid', to: proc { |env|
    uid = env['action_dispatch.request.path_parameters'][:uid]
    app = Doorkeeper::Application.find_by(uid: uid)
    times = app ? Doorkeeper::AccessToken.where(application_id: app.id).order(:created_at)
                                          .pluck(:created_at).map { |t| (t.to_f * 1000).round } : []
    [200, { 'Content-Type' => 'application/json' }, [times.to_json]]
  }
  # For the tests only: an administrator changing an application's secret (the request body is
  # the new secret), as SEEK Pass does when a partner's credential is rotated.
  put '/interop/secret/:uid', to: proc { |env|
    uid = env['action_dispatch.request.path_parameters'][:uid]
    app = Doorkeeper::Application.find_by(uid: uid)
    if app
      app.update!(secret: env['rack.input'].read)
      [204, {}, []]
    else
      [404, {}, []]
    end
  }
end
