use diesel::connection::SimpleConnection;
use domain::ports::HealthCheck;
use domain::DomainResult;

use crate::Store;

impl HealthCheck for Store {
    fn ping(&self) -> DomainResult<()> {
        self.conn()?
            .batch_execute("SELECT 1")
            .map_err(super::internal)
    }
}
