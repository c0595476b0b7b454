// Users of an application. The foundation needs only existence (for X-Mitter-Sudo-User-Id);
// the users API (SPEC §3) builds on this service.
import type { Db } from '../../platform/db.ts';

export class UsersService {
  constructor(private readonly db: Db) {}

  async exists(applicationId: string, userId: string): Promise<boolean> {
    if (userId.length > 72) return false;
    const user = await this.db.user.findUnique({ where: { applicationId_userId: { applicationId, userId } }, select: { id: true } });
    return user !== null;
  }
}
