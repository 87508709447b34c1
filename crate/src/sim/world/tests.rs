//! Tests of [`super::PandaWorld`]: grasps that hold, gravity compensation, joint limits,
//! drawers, belts, determinism and bad input, for every arm model.

use super::*;
use crate::rng::Rng;

fn lift_world(cube: Pose) -> PandaWorld {
    lift_world_with(cube, ArmModel::Multibody)
}

fn lift_world_with(cube: Pose, arm_model: ArmModel) -> PandaWorld {
    let task = Task::by_id("lift").unwrap();
    let settings = PhysicsSettings {
        arm_model,
        ..PhysicsSettings::default()
    };
    PandaWorld::with_poses(&task, settings, &[cube]).unwrap()
}

/// Minimum-jerk move between two poses, one command per control step;
/// `each` sees the world after every step.
fn go(
    w: &mut PandaWorld,
    from: Pose,
    to: Pose,
    secs: f64,
    closed: bool,
    mut each: impl FnMut(&PandaWorld),
) {
    let n = (secs / CONTROL_DT).round() as usize;
    for k in 1..=n {
        let u = k as f64 / n as f64;
        let s = u * u * u * (10.0 - 15.0 * u + 6.0 * u * u);
        w.command(&from.interpolate(&to, s), closed).unwrap();
        w.step().unwrap();
        each(w);
    }
}

/// The top-down grasp yaw of a cube closest to the home yaw (0).
fn cube_grasp_yaw(cube: &Pose) -> f64 {
    let q = std::f64::consts::FRAC_PI_2;
    let y = cube.quat.yaw();
    y - (y / q + 0.5).floor() * q
}

#[test]
fn grasp_lift_carry_place_holds_without_slip_over_20_seeds() {
    grasp_lift_carry_place(ArmModel::Multibody);
}

#[test]
fn kinematic_arm_grasps_lift_carry_place_hold_without_slip_over_20_seeds() {
    grasp_lift_carry_place(ArmModel::Kinematic);
}

#[test]
fn joint_space_arm_grasps_lift_carry_place_hold_without_slip_over_20_seeds() {
    grasp_lift_carry_place(ArmModel::JointSpace);
}

fn grasp_lift_carry_place(arm_model: ArmModel) {
    for seed in 0..20u64 {
        let mut rng = Rng::new(1000 + seed);
        let cube = Pose::new(
            Vec3::new(rng.range(0.45, 0.55), rng.range(-0.1, 0.1), 0.025),
            Quat::from_yaw(rng.range(-std::f64::consts::PI, std::f64::consts::PI)),
        );
        let dest = Vec3::new(rng.range(0.4, 0.6), rng.range(-0.25, 0.25), 0.0);
        let turn = rng.range(-0.5, 0.5);
        let mut w = lift_world_with(cube, arm_model);
        let yaw = cube_grasp_yaw(&cube);
        let down = panda::down_orientation(yaw);
        let home = w.eef_pose();
        let above = Pose::new(cube.pos + Vec3::new(0.0, 0.0, 0.1), down);
        let at = Pose::new(cube.pos, down);
        let up = Pose::new(cube.pos + Vec3::new(0.0, 0.0, 0.2), down);
        let down2 = panda::down_orientation(yaw + turn);
        let over = Pose::new(dest + Vec3::new(0.0, 0.0, 0.2), down2);
        let place = Pose::new(dest + Vec3::new(0.0, 0.0, 0.03), down2);
        go(&mut w, home, above, 1.5, false, |_| {});
        go(&mut w, above, at, 1.0, false, |_| {});
        go(&mut w, at, at, 0.5, true, |_| {});
        go(&mut w, at, up, 1.2, true, |_| {});
        assert_eq!(w.grasped_object(), Some(0), "seed {seed}: not grasped");
        let reference = w.object_poses()[0].relative_to(&w.eef_pose());
        // Centred between the pads (the coupling leaves ~1.5 mm of offset).
        assert!(
            reference.pos.norm() < 0.004,
            "seed {seed}: {:?}",
            reference.pos
        );
        let mut slip: f64 = 0.0;
        let mut turn_slip: f64 = 0.0;
        let mut track = |w: &PandaWorld| {
            let rel = w.object_poses()[0].relative_to(&w.eef_pose());
            slip = slip.max((rel.pos - reference.pos).norm());
            turn_slip = turn_slip.max(rel.quat.angle_to(reference.quat));
        };
        go(&mut w, up, over, 2.0, true, &mut track);
        go(&mut w, over, place, 1.2, true, &mut track);
        assert!(slip < 0.005, "seed {seed}: slipped {:.1} mm", slip * 1000.0);
        assert!(
            turn_slip < 0.1,
            "seed {seed}: turned {turn_slip:.3} rad in the grip"
        );
        go(&mut w, place, place, 0.5, false, |_| {});
        go(&mut w, place, over, 1.0, false, |_| {});
        let p = w.object_poses()[0];
        let d = Vec3::new(p.pos.x() - dest.x(), p.pos.y() - dest.y(), 0.0).norm();
        assert!(d < 0.01, "seed {seed}: placed {:.1} mm off", d * 1000.0);
        assert!(
            (p.pos.z() - 0.025).abs() < 0.003,
            "seed {seed}: not resting flat"
        );
        assert_eq!(w.grasped_object(), None);
    }
}

#[test]
fn arm_is_gravity_compensated_and_matches_pure_kinematics() {
    for model in [
        ArmModel::Multibody,
        ArmModel::Kinematic,
        ArmModel::JointSpace,
    ] {
        gravity_compensated(model);
    }
}

fn gravity_compensated(model: ArmModel) {
    let mut w = lift_world_with(Pose::from_pos(Vec3::new(0.5, 0.0, 0.025)), model);
    let home = w.eef_pose();
    assert!((home.pos - panda::fk(&panda::Q_HOME).pos).norm() < 1e-4);
    for _ in 0..40 {
        w.command(&home, false).unwrap();
        w.step().unwrap();
    }
    let e = w.eef_pose();
    assert!((e.pos - home.pos).norm() < 5e-4, "sagged to {:?}", e.pos);
    // The physics link poses agree with the pure FK of the measured joints.
    let fk = panda::fk(&w.joint_positions());
    assert!((fk.pos - e.pos).norm() < 1e-4);
    assert!(fk.quat.angle_to(e.quat) < 1e-3);
    assert!((w.gripper_width() - 2.0 * FINGER_TRAVEL).abs() < 1e-3);
}

/// The multibody arm's limits are handed to the solver only near a limit: a joint
/// driven past its limit at its full speed still stops there.
#[test]
fn arm_joint_driven_past_its_limit_stops_at_it() {
    let mut w = lift_world(Pose::from_pos(Vec3::new(0.9, -0.5, 0.025)));
    for (i, beyond) in [(0, 0.3), (3, 0.3)] {
        let target = panda::Q_MAX[i] + beyond;
        let mut peak = f64::MIN;
        for _ in 0..80 {
            w.q_to[i] = (w.q_to[i] + panda::QD_MAX[i] * CONTROL_DT).min(target);
            w.step().unwrap();
            peak = peak.max(w.coord(i));
        }
        assert_eq!(w.q_to[i], target);
        assert!(peak < panda::Q_MAX[i] + 0.01, "joint {i} reached {peak}");
        assert!(
            w.coord(i) > panda::Q_MAX[i] - 0.02,
            "joint {i} at {}",
            w.coord(i)
        );
    }
}

/// The joint-space arm's inertia is the multibody arm's: rapier's `diag(M^-1)` of the
/// multibody (its fingers free along their joints) against the project's `M(q)`
/// (fingers held), at home and at a stretched pose.
#[test]
fn arm_mass_matrix_matches_the_multibody() {
    let mut w = lift_world(Pose::from_pos(Vec3::new(0.9, -0.5, 0.025)));
    for q in [panda::Q_HOME, [0.4, 0.3, -0.2, -1.6, 0.3, 1.9, 0.2]] {
        w.q_to = q;
        for _ in 0..80 {
            w.step().unwrap();
        }
        let q_now = w.joint_positions();
        let finger = w.coord(DOF);
        let ours = panda::spd_inverse(&panda::mass_matrix(&q_now, finger)).unwrap();
        let mb = w.mb;
        let bodies = &w.phys.bodies;
        let mbody = w.phys.multibody_joints.get_multibody_mut(mb).unwrap();
        let dofs: Vec<usize> = (0..DOF)
            .map(|i| mbody.link(w.link_ids[i]).unwrap().assembly_id())
            .collect();
        let theirs = mbody.dof_inverse_inertia(bodies);
        for i in 0..DOF {
            let t = theirs[dofs[i]] as f64;
            assert!(
                (ours[i][i] - t).abs() < 0.03 * t,
                "joint {i}: {} vs rapier {t}",
                ours[i][i]
            );
        }
    }
}

#[test]
fn kinematic_links_driven_into_the_table_report_their_depth() {
    let cube = Pose::from_pos(Vec3::new(0.6, 0.3, 0.025));
    let mut w = lift_world_with(cube, ArmModel::Kinematic);
    let home = w.eef_pose();
    let above = Pose::new(Vec3::new(0.5, 0.0, 0.1), panda::down_orientation(0.0));
    go(&mut w, home, above, 1.5, false, |w| {
        assert_eq!(w.robot_contact(), crate::sim::RobotContact::default());
    });
    // 12 cm below the table top: the hand stops on it, its wrist spring gives way
    // at its force limit and the flange's link goes on into the table.
    let below = Pose::new(Vec3::new(0.5, 0.0, -0.12), panda::down_orientation(0.0));
    let mut deepest: f64 = 0.0;
    let mut finger: f64 = 0.0;
    go(&mut w, above, below, 1.5, false, |w| {
        deepest = deepest.max(w.robot_contact().body_depth);
        finger = finger.max(w.robot_contact().finger_force);
    });
    assert!(
        deepest > 5.0 * crate::generate::COLLISION_BODY_DEPTH,
        "link depth {deepest}"
    );
    let limit = PhysicsSettings::default().wrist_force;
    assert!(
        finger > 40.0 && finger < 2.0 * limit,
        "finger force {finger}"
    );
}

#[test]
fn fingers_close_symmetrically() {
    for model in [
        ArmModel::Multibody,
        ArmModel::Kinematic,
        ArmModel::JointSpace,
    ] {
        let mut w = lift_world_with(Pose::from_pos(Vec3::new(0.6, 0.2, 0.025)), model);
        let home = w.eef_pose();
        for _ in 0..6 {
            w.command(&home, true).unwrap();
            w.step().unwrap();
            assert!((w.coord(DOF) - w.coord(DOF + 1)).abs() < 1e-4);
        }
        assert!(w.gripper_width() < 0.002, "{model:?}");
    }
}

#[test]
fn drive_slides_object_by_physics_and_stops_when_released() {
    let mut w = lift_world(Pose::from_pos(Vec3::new(0.5, 0.0, 0.025)));
    let home = w.eef_pose();
    let start = w.object_poses()[0];
    w.set_object_drive(0, Some(Vec3::new(0.0, -0.05, 0.0)));
    for _ in 0..20 {
        w.command(&home, false).unwrap();
        w.step().unwrap();
    }
    let moved = w.object_poses()[0].pos - start.pos;
    assert!((moved.y() + 0.05).abs() < 0.004, "moved {moved:?}");
    assert!(moved.x().abs() < 0.002 && moved.z().abs() < 0.002);
    w.set_object_drive(0, None);
    for _ in 0..4 {
        w.command(&home, false).unwrap();
        w.step().unwrap();
    }
    let v = w.object_velocities()[0].0;
    assert!(v.norm() < 1e-3, "still moving at {v:?}");
}

#[test]
fn drawer_slides_only_along_its_joint_and_stops_at_its_limits() {
    let task = Task::by_id("mug_cleanup").unwrap();
    let poses = task.sample_object_poses(&mut crate::rng::Rng::new(4));
    let mut w = PandaWorld::with_poses(&task, PhysicsSettings::default(), &poses).unwrap();
    let home = w.eef_pose();
    let (d, cab) = (1, 2);
    let run = |w: &mut PandaWorld, steps: usize| {
        for _ in 0..steps {
            w.command(&home, false).unwrap();
            w.step().unwrap();
        }
    };
    // Closed, it stays closed under gravity; the cabinet is fixed.
    run(&mut w, 20);
    let p = w.object_poses();
    assert!(task.opening(d, &p).unwrap().abs() < 5e-4);
    assert!((p[cab].pos - poses[cab].pos).norm() < 1e-6);
    // A drive pulling across the joint's axis moves it along the axis only, through
    // the joint's motor, and the travel limit stops it.
    w.set_object_drive(d, Some(Vec3::new(0.03, -0.1, 0.0)));
    run(&mut w, 20);
    let q = task.opening(d, &w.object_poses()).unwrap();
    assert!((q - 0.1).abs() < 0.01, "opened {q}");
    run(&mut w, 40);
    let p = w.object_poses();
    let q = task.opening(d, &p).unwrap();
    let travel = task.objects[d].joint.as_ref().unwrap().range[1];
    assert!(q <= travel + 2e-3 && q > travel - 0.01, "limit: {q}");
    let closed = task.objects[d].joint.as_ref().unwrap().pose_at(&p[cab], q);
    assert!((p[d].pos - closed.pos).norm() < 2e-3, "off the joint axis");
    // Released, the joint's friction holds it where it is.
    w.set_object_drive(d, None);
    run(&mut w, 20);
    let q2 = task.opening(d, &w.object_poses()).unwrap();
    assert!((q2 - q).abs() < 2e-3, "{q} -> {q2}");
}

#[test]
fn belt_carries_what_rests_on_it_at_the_configured_speed() {
    for speed in [crate::task::BELT_SPEED, 0.1, 0.0] {
        let task = Task::by_id("conveyor").unwrap().with_belt_speed(speed);
        let mut w = PandaWorld::new(&task, PhysicsSettings::default()).unwrap();
        let home = w.eef_pose();
        let start = w.object_poses();
        for _ in 0..20 {
            w.command(&home, false).unwrap();
            w.step().unwrap();
        }
        let end = w.object_poses();
        let dx = end[0].pos.x() - start[0].pos.x();
        assert!(
            (dx + speed).abs() < 0.004,
            "belt at {speed}: cube moved {dx}"
        );
        assert!(
            (end[1].pos - start[1].pos).norm() < 1e-3,
            "the bin is off the belt"
        );
    }
}

#[test]
fn reset_rejects_unstable_configurations() {
    let task = Task::by_id("stack").unwrap();
    let mut w = PandaWorld::new(&task, PhysicsSettings::default()).unwrap();
    let a = Pose::from_pos(Vec3::new(0.5, 0.0, 0.025));
    let overlapping = Pose::from_pos(Vec3::new(0.52, 0.0, 0.03));
    assert!(matches!(
        w.reset(&[a, overlapping]),
        Err(SimError::InvalidScene(_))
    ));
    let sunk = Pose::from_pos(Vec3::new(0.5, 0.2, 0.01));
    assert!(matches!(
        w.reset(&[a, sunk]),
        Err(SimError::InvalidScene(_))
    ));
    let off = Pose::from_pos(Vec3::new(1.5, 0.0, 0.03));
    assert!(matches!(w.reset(&[a, off]), Err(SimError::InvalidScene(_))));
    let mut massless = task.clone();
    massless.objects[0].mass = 0.0;
    assert!(PandaWorld::new(&massless, PhysicsSettings::default()).is_err());
    let nan = Pose::from_pos(Vec3::new(f64::NAN, 0.0, 0.03));
    assert!(matches!(w.reset(&[a, nan]), Err(SimError::NonFinite(_))));
    assert!(w.reset(&[a]).is_err(), "wrong number of poses");
    // Stacked (touching, not interpenetrating) is a valid start.
    let on_top = Pose::from_pos(Vec3::new(0.5, 0.0, 0.05 + 0.03));
    w.reset(&[a, on_top]).unwrap();
    // A rejected reset leaves the previous scene intact.
    assert!((w.object_poses()[1].pos - on_top.pos).norm() < 1e-6);
}

#[test]
fn command_rejects_nan_and_reports_unreachable_targets() {
    let mut w = lift_world(Pose::from_pos(Vec3::new(0.5, 0.0, 0.025)));
    let home = w.eef_pose();
    let nan = Pose::new(Vec3::new(0.5, f64::NAN, 0.2), home.quat);
    assert!(matches!(
        w.command(&nan, false),
        Err(SimError::NonFinite(_))
    ));
    let zero_quat = Pose::new(home.pos, Quat([0.0; 4]));
    assert!(w.command(&zero_quat, false).is_err());
    let far = Pose::new(Vec3::new(1.6, 0.0, 0.3), home.quat);
    w.command(&far, false).unwrap();
    assert!(!w.target_reachable());
    for _ in 0..20 {
        w.command(&far, false).unwrap();
        w.step().unwrap();
    }
    assert!(!w.target_reachable());
    assert!(
        panda::within_limits(&w.joint_positions()) || {
            // Motors may overshoot a limit by a hair; never by much.
            let q = w.joint_positions();
            (0..DOF).all(|i| q[i] > panda::Q_MIN[i] - 0.02 && q[i] < panda::Q_MAX[i] + 0.02)
        }
    );
    assert!(w.eef_pose().is_finite());
    w.command(&home, false).unwrap();
    assert!(w.target_reachable());
}

#[test]
fn same_seed_gives_bit_identical_state_in_every_task() {
    for (task, arm_model) in Task::all().into_iter().flat_map(|t| {
        [
            (t.clone(), ArmModel::Multibody),
            (t.clone(), ArmModel::Kinematic),
            (t, ArmModel::JointSpace),
        ]
    }) {
        let settings = PhysicsSettings {
            arm_model,
            ..PhysicsSettings::default()
        };
        let run = |seed: u64| {
            let poses = task.sample_object_poses(&mut Rng::new(seed));
            let mut w = PandaWorld::with_poses(&task, settings.clone(), &poses).unwrap();
            let target = Pose::new(
                poses[0].pos + Vec3::new(0.0, 0.0, 0.05),
                panda::down_orientation(0.3),
            );
            let start = w.eef_pose();
            for k in 1..=30 {
                let s = k as f64 / 30.0;
                w.command(&start.interpolate(&target, s), k > 24).unwrap();
                w.step().unwrap();
            }
            (w.state_digest(), w.state())
        };
        let (a, sa) = run(5);
        let (b, sb) = run(5);
        assert_eq!(a, b, "{}: digests differ", task.id);
        assert_eq!(sa, sb);
        assert_ne!(a, run(6).0, "{}: digest ignores the state", task.id);
    }
}

#[test]
fn visual_shapes_list_the_whole_scene() {
    for task in Task::all() {
        let w = PandaWorld::new(&task, PhysicsSettings::default()).unwrap();
        let shapes = w.visual_shapes();
        let parts: usize = task.objects.iter().map(|o| o.parts.len()).sum::<usize>()
            + task.fixtures.iter().map(|f| f.parts.len()).sum::<usize>();
        // table + floor + pedestal + arm capsules + hand + 2 fingers + task parts
        assert_eq!(shapes.len(), 3 + panda::LINK_CAPSULES.len() + 3 + parts);
        assert!(shapes.iter().all(|s| s.pose.is_finite()));
        // The fingers hang below the hand, near the end-effector.
        let e = w.eef_pose();
        let fingers = &shapes[3 + panda::LINK_CAPSULES.len() + 1..][..2];
        for f in fingers {
            assert!((f.pose.pos - e.pos).norm() < 0.06);
        }
    }
}

#[test]
fn worlds_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<PandaWorld>();
}

#[test]
fn settings_are_validated() {
    let task = Task::by_id("lift").unwrap();
    let bad = PhysicsSettings {
        dt: 0.0,
        ..PhysicsSettings::default()
    };
    assert!(PandaWorld::new(&task, bad).is_err());
    let nan = PhysicsSettings {
        finger_force: f64::NAN,
        ..PhysicsSettings::default()
    };
    assert!(matches!(
        PandaWorld::new(&task, nan),
        Err(SimError::NonFinite(_))
    ));
    let s: PhysicsSettings = serde_json::from_str(r#"{"dt": 0.005}"#).unwrap();
    assert_eq!(s.solver_iterations, 4);
    assert!(serde_json::from_str::<PhysicsSettings>(r#"{"dtt": 0.005}"#).is_err());
}
