using IntegrationApi;

IntegrationApiApp.Create(args).Run();
