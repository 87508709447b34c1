//! [`PandaWorld`]: the rapier3d scene every generated trajectory is validated in.
//!
//! - The arm ([`ArmModel::Multibody`], the default) is a reduced-coordinate
//!   multibody rooted at a fixed base at the origin: seven revolute joints with
//!   acceleration-based position motors (gravity compensated: the arm's links
//!   ignore gravity), and two prismatic finger joints with force-limited motors
//!   whose coordinates are coupled (`q_finger2 = q_finger1`), so the hand closes
//!   symmetrically. [`ArmModel::Kinematic`] (opt-in) moves the links as kinematic
//!   bodies along a joint servo and hangs the hand on a force-limited wrist spring:
//!   about 1.6 times faster, with tighter tracking and different success rates.
//!   [`ArmModel::JointSpace`] (opt-in) does the same with the multibody's motors solved
//!   on the arm's own joint-space inertia (`super::servo`): 1.3-1.6 times faster than
//!   the multibody, which it tracks like, with ten of 48 success rates moved by more
//!   than 2 points because its links do not feel contacts (`docs/results.md`).
//! - [`World::command`] runs damped-least-squares IK ([`super::ik`]) at the
//!   20 Hz control rate; [`World::step`] interpolates the joint targets linearly
//!   over the physics steps of the control period (with the matching velocity as
//!   feed-forward).
//! - Objects are plain dynamic bodies: a grasp holds only by contact and
//!   friction. Moving surfaces (the conveyor belt, object drives set by
//!   [`World::set_object_drive`]) are contact-modification hooks that give the
//!   contacts between an object and a fixed support a tangent velocity, so the
//!   support's friction carries the object: motion by physics, never teleporting.
//!   A drive acts only through contacts with fixed bodies (table, belt, floor):
//!   it is inactive while the object is lifted, held or resting on another
//!   object, and on the belt it replaces the belt's own velocity.
//! - Objects pushed off the table land on the room's floor ([`FLOOR_Z`]).
//!
//! All physics settings live in [`PhysicsSettings`].

use super::hooks::SurfaceHooks;
use super::panda::{self, Frame, DOF, FINGER_TRAVEL};
use super::servo::{Gains, Servo, ServoLaw};
pub use super::settings::{ArmModel, PhysicsSettings};
use super::{ik, ShapeKind, SimError, VisualShape, World, CONTROL_DT};
use crate::geom::{m, Pose, Quat, Vec3};
use crate::task::{PartShape, Task};
use rapier3d::parry::query as pq;
use rapier3d::prelude::*;

/// Table top extents (m); its surface is z = 0.
pub const TABLE_X: [f64; 2] = [0.15, 1.0];
pub const TABLE_Y: [f64; 2] = [-0.6, 0.6];
const TABLE_THICKNESS: f64 = 0.04;
/// Height of the room's floor (m): the table top stands 0.75 m above it.
pub const FLOOR_Z: f64 = -0.75;
/// Penetration tolerated between spawned bodies (m).
const SPAWN_TOLERANCE: f64 = 0.0015;
/// Contact distance below which a finger counts as touching (m).
const TOUCH_DIST: f32 = 0.002;

const G_TABLE: Group = Group::GROUP_1;
const G_OBJECT: Group = Group::GROUP_2;
const G_ARM: Group = Group::GROUP_3;
const G_HAND: Group = Group::GROUP_4;

/// Who collides with whom: everything with everything except the robot with itself
/// (its links are jointed, neighbours overlap by construction). The arm's links and the
/// hand touch the table, the floor and the fixtures like any object does, so a path
/// that sweeps the arm through them is stopped by physics and reported by
/// [`World::robot_contact`].
fn groups(member: Group) -> InteractionGroups {
    let robot = G_ARM.union(G_HAND);
    let filter = if member == G_TABLE {
        G_OBJECT.union(robot)
    } else if member == G_OBJECT {
        G_TABLE.union(G_OBJECT).union(robot)
    } else {
        G_TABLE.union(G_OBJECT)
    };
    InteractionGroups::new(member, filter, InteractionTestMode::And)
}

fn v32(v: [f64; 3]) -> Vector {
    Vector::new(v[0] as f32, v[1] as f32, v[2] as f32)
}

fn pose32(p: &Pose) -> rapier3d::math::Pose {
    let q = p.quat.normalized().0;
    rapier3d::math::Pose::from_parts(
        v32(p.pos.0),
        Rotation::from_xyzw(q[0] as f32, q[1] as f32, q[2] as f32, q[3] as f32),
    )
}

fn pose64(p: &rapier3d::math::Pose) -> Pose {
    let t = p.translation;
    let r = p.rotation;
    Pose::new(
        Vec3::new(t.x as f64, t.y as f64, t.z as f64),
        Quat([r.x as f64, r.y as f64, r.z as f64, r.w as f64]),
    )
}

fn frame32(f: &Frame) -> rapier3d::math::Pose {
    pose32(&f.to_pose())
}

/// A rotation taking the x axis to unit vector `d`.
fn quat_x_to(d: Vec3) -> Quat {
    let x = Vec3::new(1.0, 0.0, 0.0);
    let c = x.dot(d);
    if c < -1.0 + 1e-9 {
        return Quat::from_yaw(std::f64::consts::PI);
    }
    let axis = x.cross(d);
    if axis.norm() < 1e-12 {
        return Quat::IDENTITY;
    }
    Quat::from_axis_angle(axis.normalized(), m::acos(c.clamp(-1.0, 1.0)))
}

/// Rotation taking the z axis onto `d` (any rotation if `d` is zero).
fn quat_z_to(d: Vec3) -> Quat {
    let n = d.normalized();
    let z = Vec3::new(0.0, 0.0, 1.0);
    let c = z.dot(n);
    if c < -1.0 + 1e-12 {
        return Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::PI);
    }
    let axis = z.cross(n);
    if axis.norm() < 1e-12 {
        return Quat::IDENTITY;
    }
    Quat::from_axis_angle(axis, m::acos(c))
}

fn part_collider(shape: &PartShape) -> ColliderBuilder {
    match shape {
        PartShape::Cuboid { half_extents: h } => {
            ColliderBuilder::cuboid(h.x() as f32, h.y() as f32, h.z() as f32)
        }
        PartShape::Cylinder {
            half_height,
            radius,
        } => ColliderBuilder::cylinder(*half_height as f32, *radius as f32),
        PartShape::Sphere { radius } => ColliderBuilder::ball(*radius as f32),
    }
}

/// The drawable shape of a task object's collider part.
pub(crate) fn part_visual(shape: &PartShape) -> ShapeKind {
    match shape {
        PartShape::Cuboid { half_extents } => ShapeKind::Cuboid {
            half_extents: *half_extents,
        },
        PartShape::Cylinder {
            half_height,
            radius,
        } => ShapeKind::Cylinder {
            half_height: *half_height,
            radius: *radius,
        },
        PartShape::Sphere { radius } => ShapeKind::Sphere { radius: *radius },
    }
}

struct ObjectBody {
    body: RigidBodyHandle,
    colliders: Vec<ColliderHandle>,
    /// The slide joint holding it in its parent, if any, and its motor's target
    /// velocity and force limit as last set.
    joint: Option<(ImpulseJointHandle, [f32; 2])>,
}

/// Largest force (N) a drive applies through a slide joint (a drawer pushed by
/// the dynamic variants).
const JOINT_DRIVE_FORCE: f32 = 40.0;

/// Distance from a joint limit (rad) within which the multibody arm's joint carries its
/// limit constraint (see `PandaWorld::set_motors`). The fastest joint moves 0.011 rad in a
/// 1/240 s step at its speed limit, and the motor's velocity clamp at a limit reaches
/// 0.003 rad further.
const LIMIT_MARGIN: f64 = 0.2;

/// The Panda world: arm, parallel-jaw gripper, table, fixtures and task objects.
pub struct PandaWorld {
    task: Task,
    settings: PhysicsSettings,
    substeps: usize,
    phys: PhysicsWorld,
    hooks: SurfaceHooks,
    mb: MultibodyIndex,
    /// Multibody link ids of links 1..7 then fingers 1, 2.
    link_ids: [usize; DOF + 2],
    links: [RigidBodyHandle; DOF],
    /// The body carrying the hand housing and the fingers (link 7 in the multibody arm).
    hand: RigidBodyHandle,
    /// The kinematic arm's joint state.
    servo: Option<Servo>,
    fingers: [RigidBodyHandle; 2],
    finger_colliders: [ColliderHandle; 2],
    hand_collider: ColliderHandle,
    arm_colliders: Vec<(usize, ColliderHandle)>,
    static_colliders: Vec<ColliderHandle>,
    objects: Vec<ObjectBody>,
    q_from: [f64; DOF],
    q_to: [f64; DOF],
    ik_q: [f64; DOF],
    ik_params: ik::IkParams,
    gripper_closed: bool,
    reachable: bool,
    drives: Vec<Option<Vec3>>,
    control_steps: u64,
    /// Robot contacts with the fixed scene during the last control period.
    contact: crate::sim::RobotContact,
}

impl PandaWorld {
    /// A world for `task` with its objects at the reset drawn from seed 0.
    pub fn new(task: &Task, settings: PhysicsSettings) -> Result<PandaWorld, SimError> {
        let poses = task.sample_object_poses(&mut crate::rng::Rng::new(0));
        Self::with_poses(task, settings, &poses)
    }

    /// A world for `task` with its objects at `object_poses`.
    pub fn with_poses(
        task: &Task,
        settings: PhysicsSettings,
        object_poses: &[Pose],
    ) -> Result<PandaWorld, SimError> {
        let substeps = settings.validate()?;
        Self::spawn(task, &settings, substeps, object_poses)
    }

    /// Check initial object poses (count, finite, unit quaternions, on the
    /// table) and return them normalised.
    fn validate_poses(task: &Task, object_poses: &[Pose]) -> Result<Vec<Pose>, SimError> {
        let n = task.objects.len();
        if object_poses.len() != n {
            return Err(SimError::InvalidScene(format!(
                "expected {n} object poses, got {}",
                object_poses.len()
            )));
        }
        for o in &task.objects {
            let dims_ok = o.parts.iter().all(|p| {
                p.offset.is_finite()
                    && match &p.shape {
                        PartShape::Cuboid { half_extents: h } => {
                            h.is_finite() && h.0.iter().all(|v| *v > 0.0)
                        }
                        PartShape::Cylinder {
                            half_height,
                            radius,
                        } => {
                            half_height.is_finite()
                                && radius.is_finite()
                                && *half_height > 0.0
                                && *radius > 0.0
                        }
                        PartShape::Sphere { radius } => radius.is_finite() && *radius > 0.0,
                    }
            });
            if o.parts.is_empty() || !dims_ok || !(o.mass > 0.0 && o.mass.is_finite()) {
                return Err(SimError::InvalidScene(format!(
                    "object '{}' needs at least one part with positive sizes and a positive mass",
                    o.name
                )));
            }
            if !(o.friction >= 0.0 && o.friction.is_finite()) {
                return Err(SimError::InvalidScene(format!(
                    "object '{}' has an invalid friction {}",
                    o.name, o.friction
                )));
            }
        }
        let names = task.object_names();
        let mut poses = Vec::with_capacity(n);
        for (i, p) in object_poses.iter().enumerate() {
            if !p.is_finite() {
                return Err(SimError::NonFinite(format!("pose of '{}'", names[i])));
            }
            let qn = p.quat.norm();
            if !(0.9..=1.1).contains(&qn) {
                return Err(SimError::InvalidScene(format!(
                    "orientation of '{}' is not a unit quaternion (norm {qn:.3})",
                    names[i]
                )));
            }
            let (x, y) = (p.pos.x(), p.pos.y());
            if !(TABLE_X[0]..=TABLE_X[1]).contains(&x) || !(TABLE_Y[0]..=TABLE_Y[1]).contains(&y) {
                return Err(SimError::InvalidScene(format!(
                    "'{}' at ({x:.3}, {y:.3}) is off the table",
                    names[i]
                )));
            }
            if p.pos.z() > 1.0 {
                return Err(SimError::InvalidScene(format!(
                    "'{}' starts {:.2} m above the table",
                    names[i],
                    p.pos.z()
                )));
            }
            poses.push(Pose::new(p.pos, p.quat.normalized()));
        }
        Ok(poses)
    }

    /// Build a fresh scene at `poses` and check nothing starts interpenetrating.
    fn spawn(
        task: &Task,
        settings: &PhysicsSettings,
        substeps: usize,
        object_poses: &[Pose],
    ) -> Result<PandaWorld, SimError> {
        let poses = Self::validate_poses(task, object_poses)?;
        let w = Self::build(task, settings, substeps, &poses)?;
        w.check_spawn()?;
        Ok(w)
    }

    /// The world's task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    pub fn settings(&self) -> &PhysicsSettings {
        &self.settings
    }

    /// Physics steps per control step.
    pub fn substeps(&self) -> usize {
        self.substeps
    }

    fn build(
        task: &Task,
        settings: &PhysicsSettings,
        substeps: usize,
        object_poses: &[Pose],
    ) -> Result<PandaWorld, SimError> {
        // `PhysicsWorld::new()` with a narrow phase restricted to convex primitives
        // (see `dispatch`: same contacts, far less code in the browser module).
        let mut phys = PhysicsWorld {
            gravity: Vector::ZERO,
            integration_parameters: IntegrationParameters::default(),
            physics_pipeline: PhysicsPipeline::new(),
            collision_pipeline: CollisionPipeline::new(),
            islands: IslandManager::new(),
            broad_phase: DefaultBroadPhase::default(),
            narrow_phase: NarrowPhase::with_query_dispatcher(super::dispatch::ConvexDispatcher),
            bodies: RigidBodySet::new(),
            colliders: ColliderSet::new(),
            impulse_joints: ImpulseJointSet::new(),
            multibody_joints: MultibodyJointSet::new(),
            soft_bodies: SoftBodySet::new(),
            ccd_solver: CCDSolver::new(),
        };
        phys.gravity = Vector::new(0.0, 0.0, -settings.gravity as f32);
        let ip = &mut phys.integration_parameters;
        ip.dt = (CONTROL_DT / substeps as f64) as f32;
        ip.num_solver_iterations = settings.solver_iterations;
        ip.num_internal_pgs_iterations = settings.pgs_iterations;
        ip.contact_softness = SpringCoefficients::new(
            settings.contact_frequency as f32,
            settings.contact_damping_ratio as f32,
        );
        ip.static_contact_softness = ip.contact_softness;
        ip.contact_recycling = settings.contact_recycling;
        let skin = settings.contact_skin as f32;

        let mut static_colliders = Vec::new();
        // Table.
        let table = phys.bodies.insert(
            RigidBodyBuilder::fixed()
                .translation(Vector::new(
                    (0.5 * (TABLE_X[0] + TABLE_X[1])) as f32,
                    (0.5 * (TABLE_Y[0] + TABLE_Y[1])) as f32,
                    (-0.5 * TABLE_THICKNESS) as f32,
                ))
                .build(),
        );
        static_colliders.push(
            phys.colliders.insert_with_parent(
                ColliderBuilder::cuboid(
                    (0.5 * (TABLE_X[1] - TABLE_X[0])) as f32,
                    (0.5 * (TABLE_Y[1] - TABLE_Y[0])) as f32,
                    (0.5 * TABLE_THICKNESS) as f32,
                )
                .friction(settings.table_friction as f32)
                .contact_skin(skin)
                .collision_groups(groups(G_TABLE))
                .build(),
                table,
                &mut phys.bodies,
            ),
        );

        // The floor of the room: objects pushed off the table land here.
        let floor = phys.bodies.insert(
            RigidBodyBuilder::fixed()
                .translation(Vector::new(0.5, 0.0, (FLOOR_Z - 0.05) as f32))
                .build(),
        );
        static_colliders.push(
            phys.colliders.insert_with_parent(
                ColliderBuilder::cuboid(3.0, 3.0, 0.05)
                    .friction(settings.table_friction as f32)
                    .collision_groups(groups(G_TABLE))
                    .build(),
                floor,
                &mut phys.bodies,
            ),
        );

        // Fixtures (belts).
        let mut hooks = SurfaceHooks::default();
        for f in &task.fixtures {
            let body = phys
                .bodies
                .insert(RigidBodyBuilder::fixed().pose(pose32(&f.pose)).build());
            for p in &f.parts {
                let c = phys.colliders.insert_with_parent(
                    part_collider(&p.shape)
                        .position(pose32(&p.offset) * shape_frame(&p.shape))
                        .friction(f.friction as f32)
                        .contact_skin(skin)
                        .collision_groups(groups(G_TABLE))
                        .active_hooks(ActiveHooks::MODIFY_SOLVER_CONTACTS)
                        .build(),
                    body,
                    &mut phys.bodies,
                );
                static_colliders.push(c);
                if f.surface_velocity.norm() > 0.0 {
                    hooks.belts.push((c, v32(f.surface_velocity.0)));
                }
            }
        }

        // Arm: fixed base, 7 links, 2 fingers.
        let q0 = panda::Q_HOME;
        let frames = panda::link_frames(&q0);
        let base = phys.bodies.insert(RigidBodyBuilder::fixed().build());
        let kinematic = settings.arm_model.kinematic_links();
        let mut arm_colliders = Vec::new();
        let mut links = [base; DOF];
        for i in 0..DOF {
            let mass = MassProperties::new(
                v32(panda::LINK_COM[i]),
                panda::LINK_MASS[i] as f32,
                v32(panda::LINK_INERTIA[i]),
            );
            let builder = if kinematic {
                RigidBodyBuilder::kinematic_position_based()
            } else {
                RigidBodyBuilder::dynamic()
            };
            links[i] = phys.bodies.insert(
                builder
                    .pose(frame32(&frames[i]))
                    .gravity_scale(0.0)
                    .can_sleep(false)
                    .additional_mass_properties(mass)
                    .build(),
            );
        }
        // Kinematic links need their contacts with the fixed scene computed (no forces:
        // neither side moves) to report collisions.
        let link_collision_types = if kinematic {
            ActiveCollisionTypes::default() | ActiveCollisionTypes::KINEMATIC_FIXED
        } else {
            ActiveCollisionTypes::default()
        };
        for (li, (link, p0, p1, r)) in panda::LINK_CAPSULES.iter().enumerate() {
            let parent = if *link == 0 { base } else { links[link - 1] };
            let c = phys.colliders.insert_with_parent(
                ColliderBuilder::capsule_from_endpoints(v32(*p0), v32(*p1), *r as f32)
                    .density(0.0)
                    .active_collision_types(link_collision_types)
                    .collision_groups(groups(G_ARM))
                    .build(),
                parent,
                &mut phys.bodies,
            );
            arm_colliders.push((li, c));
        }
        // Hand housing on link 7.
        let hand_frame = Frame {
            rot: panda::link7_to_eef().rot,
            pos: [0.0, 0.0, panda::FLANGE_OFFSET + panda::HAND_CENTER_Z],
        };
        let hh = panda::HAND_HALF;
        // The hand: link 7 itself, or (kinematic arm) a dynamic body at the flange with
        // the hand's mass, on a force-limited wrist spring. Its rotation is locked to
        // the flange, so its inertia only enters through the fingers' multibody.
        let hand = if kinematic {
            let hand = phys.bodies.insert(
                RigidBodyBuilder::dynamic()
                    .pose(frame32(&frames[DOF - 1]))
                    .gravity_scale(0.0)
                    .can_sleep(false)
                    .additional_mass_properties(MassProperties::new(
                        v32(hand_frame.pos),
                        panda::HAND_MASS as f32,
                        v32(panda::HAND_INERTIA),
                    ))
                    .build(),
            );
            let (k, d, f) = (
                settings.wrist_stiffness as f32,
                settings.wrist_damping as f32,
                settings.wrist_force as f32,
            );
            let mut wrist =
                GenericJointBuilder::new(JointAxesMask::ANG_AXES).contacts_enabled(false);
            for ax in [JointAxis::LinX, JointAxis::LinY, JointAxis::LinZ] {
                wrist = wrist
                    .motor_model(ax, MotorModel::ForceBased)
                    .set_motor(ax, 0.0, 0.0, k, d)
                    .motor_max_force(ax, f);
            }
            phys.impulse_joints
                .insert(links[DOF - 1], hand, wrist.build(), true);
            hand
        } else {
            links[DOF - 1]
        };
        let hand_collider = phys.colliders.insert_with_parent(
            ColliderBuilder::cuboid(hh[0] as f32, hh[1] as f32, hh[2] as f32)
                .position(frame32(&hand_frame))
                .density(0.0)
                .friction(settings.finger_friction as f32)
                .contact_skin(skin)
                .collision_groups(groups(G_HAND))
                .build(),
            hand,
            &mut phys.bodies,
        );
        let t7e = panda::link7_to_eef();
        let mut fingers = [base; 2];
        let mut finger_colliders = [hand_collider; 2];
        for (k, side) in [1.0f64, -1.0].iter().enumerate() {
            let offset = Frame {
                rot: Frame::IDENTITY.rot,
                pos: [0.0, side * FINGER_TRAVEL, 0.0],
            };
            let pose = frames[DOF].mul(&offset);
            let fh = panda::FINGER_HALF;
            let body = phys.bodies.insert(
                RigidBodyBuilder::dynamic()
                    .pose(frame32(&pose))
                    .additional_solver_iterations(settings.finger_extra_iterations)
                    .gravity_scale(0.0)
                    .can_sleep(false)
                    .additional_mass_properties(MassProperties::new(
                        Vector::new(0.0, (side * fh[1]) as f32, panda::FINGER_CENTER_Z as f32),
                        panda::FINGER_MASS as f32,
                        v32(panda::FINGER_INERTIA),
                    ))
                    .build(),
            );
            finger_colliders[k] = phys.colliders.insert_with_parent(
                ColliderBuilder::cuboid(fh[0] as f32, fh[1] as f32, fh[2] as f32)
                    .translation(Vector::new(
                        0.0,
                        (side * fh[1]) as f32,
                        panda::FINGER_CENTER_Z as f32,
                    ))
                    .density(0.0)
                    .friction(settings.finger_friction as f32)
                    .contact_skin(skin)
                    .collision_groups(groups(G_HAND))
                    .build(),
                body,
                &mut phys.bodies,
            );
            fingers[k] = body;
        }

        // Joints.
        let to_x = Quat::from_axis_angle(Vec3::new(0.0, 1.0, 0.0), -std::f64::consts::FRAC_PI_2);
        let mut parent = base;
        for i in 0..if kinematic { 0 } else { DOF } {
            let (a, d, sa, ca) = panda::MDH[i];
            let rx = Quat::from_mat3(&[[1.0, 0.0, 0.0], [0.0, ca, -sa], [0.0, sa, ca]]);
            let f1 = Pose::new(Vec3::new(a, -sa * d, ca * d), rx * to_x);
            let f2 = Pose::new(Vec3::ZERO, to_x);
            let joint = GenericJointBuilder::new(JointAxesMask::LOCKED_REVOLUTE_AXES)
                .local_frame1(pose32(&f1))
                .local_frame2(pose32(&f2))
                .limits(
                    JointAxis::AngX,
                    [panda::Q_MIN[i] as f32, panda::Q_MAX[i] as f32],
                )
                .motor_model(JointAxis::AngX, MotorModel::AccelerationBased)
                .set_motor(
                    JointAxis::AngX,
                    q0[i] as f32,
                    0.0,
                    settings.arm_stiffness as f32,
                    settings.arm_damping as f32,
                )
                .motor_max_force(JointAxis::AngX, panda::TAU_MAX[i] as f32)
                .contacts_enabled(false)
                .build();
            phys.multibody_joints
                .insert(parent, links[i], joint, true)
                .ok_or_else(|| SimError::Other("could not build the arm multibody".into()))?;
            parent = links[i];
        }
        for (k, side) in [1.0f64, -1.0].iter().enumerate() {
            let rz = Quat::from_yaw(side * std::f64::consts::FRAC_PI_2);
            let f1 = t7e.to_pose().compose(&Pose::new(Vec3::ZERO, rz));
            let f2 = Pose::new(Vec3::ZERO, rz);
            let joint = GenericJointBuilder::new(JointAxesMask::LOCKED_PRISMATIC_AXES)
                .local_frame1(pose32(&f1))
                .local_frame2(pose32(&f2))
                .limits(JointAxis::LinX, [0.0, FINGER_TRAVEL as f32])
                .motor_model(JointAxis::LinX, MotorModel::ForceBased)
                .set_motor(
                    JointAxis::LinX,
                    FINGER_TRAVEL as f32,
                    0.0,
                    settings.finger_stiffness as f32,
                    settings.finger_damping as f32,
                )
                .motor_max_force(JointAxis::LinX, settings.finger_force as f32)
                .contacts_enabled(false)
                .build();
            phys.multibody_joints
                .insert(hand, fingers[k], joint, true)
                .ok_or_else(|| SimError::Other("could not attach the fingers".into()))?;
        }
        let mb = phys
            .multibody_joints
            .rigid_body_link(fingers[0])
            .map(|l| l.multibody)
            .ok_or_else(|| SimError::Other("arm multibody missing".into()))?;
        // The kinematic arm's links are not in the multibody.
        let mut link_ids = [usize::MAX; DOF + 2];
        let in_multibody = if kinematic { &links[..0] } else { &links[..] };
        for (i, h) in links.iter().chain(fingers.iter()).enumerate() {
            if i < DOF && in_multibody.is_empty() {
                continue;
            }
            link_ids[i] = phys
                .multibody_joints
                .rigid_body_link(*h)
                .map(|l| l.id)
                .ok_or_else(|| SimError::Other("arm link missing".into()))?;
        }
        {
            let mbody = phys
                .multibody_joints
                .get_multibody_mut(mb)
                .ok_or_else(|| SimError::Other("arm multibody missing".into()))?;
            mbody.add_dof_coupling(MultibodyDofCoupling {
                link1: link_ids[DOF],
                dof1: 0,
                axis1: 0,
                link2: link_ids[DOF + 1],
                dof2: 0,
                axis2: 0,
                coeff: 1.0,
                offset: 0.0,
            });
            // A dynamic root (the kinematic arm's hand) takes its pose from its body.
            if kinematic {
                mbody.forward_kinematics(&phys.bodies, true);
            }
            let mut disp = vec![0.0f32; mbody.ndofs()];
            for (i, id) in link_ids.iter().enumerate() {
                let q = if i < DOF { q0[i] } else { FINGER_TRAVEL };
                if let Some(link) = mbody.link(*id) {
                    if let Some(slot) = disp.get_mut(link.assembly_id()) {
                        *slot = q as f32;
                    }
                }
            }
            mbody.apply_displacements(&disp);
            mbody.forward_kinematics(&phys.bodies, false);
            mbody.update_rigid_bodies(&mut phys.bodies, true);
        }

        // Objects. A fixed one (a cabinet) belongs to the fixed scene: the robot's
        // contacts with it count as contacts with the scene.
        let mut objects = Vec::new();
        for (i, spec) in task.objects.iter().enumerate() {
            let pose = object_poses.get(i).copied().unwrap_or(Pose::IDENTITY);
            let builder = if spec.fixed {
                RigidBodyBuilder::fixed()
            } else {
                RigidBodyBuilder::dynamic().can_sleep(false)
            };
            let body = phys.bodies.insert(builder.pose(pose32(&pose)).build());
            let vol: f64 = spec.parts.iter().map(|p| p.shape.volume()).sum();
            let group = if spec.fixed { G_TABLE } else { G_OBJECT };
            let mut colliders = Vec::new();
            for p in &spec.parts {
                let mass = spec.mass * p.shape.volume() / vol.max(1e-12);
                let c = phys.colliders.insert_with_parent(
                    part_collider(&p.shape)
                        .position(pose32(&p.offset) * shape_frame(&p.shape))
                        .mass(mass as f32)
                        .friction(spec.friction as f32)
                        .contact_skin(skin)
                        .collision_groups(groups(group))
                        .active_hooks(ActiveHooks::MODIFY_SOLVER_CONTACTS)
                        .build(),
                    body,
                    &mut phys.bodies,
                );
                colliders.push(c);
                if spec.fixed {
                    static_colliders.push(c);
                }
            }
            objects.push(ObjectBody {
                body,
                colliders,
                joint: None,
            });
        }
        // Slide joints (a drawer in its cabinet): the joint's x axis is the opening
        // direction; contacts between the two bodies are off (the joint keeps them
        // apart, with clearances in the geometry).
        for (i, spec) in task.objects.iter().enumerate() {
            let Some(j) = &spec.joint else { continue };
            let parent = task.object_index(&j.parent).map_err(|_| {
                SimError::InvalidScene(format!(
                    "'{}' slides in '{}', which is not an object of the task",
                    spec.name, j.parent
                ))
            })?;
            let axis = j.axis.normalized();
            let ordered = j.range[0] < j.range[1];
            if !axis.is_finite() || !ordered {
                return Err(SimError::InvalidScene(format!(
                    "the slide joint of '{}' needs an axis and a range",
                    spec.name
                )));
            }
            let r1 = quat_x_to(axis);
            let f1 = Pose::new(j.origin.pos, r1);
            let f2 = Pose::new(Vec3::ZERO, j.origin.quat.conj() * r1);
            let joint = GenericJointBuilder::new(JointAxesMask::LOCKED_PRISMATIC_AXES)
                .local_frame1(pose32(&f1))
                .local_frame2(pose32(&f2))
                .limits(JointAxis::LinX, [j.range[0] as f32, j.range[1] as f32])
                .motor_model(JointAxis::LinX, MotorModel::ForceBased)
                .motor_velocity(JointAxis::LinX, 0.0, j.damping as f32)
                .motor_max_force(JointAxis::LinX, j.friction as f32)
                .contacts_enabled(false)
                .build();
            let h = phys
                .impulse_joints
                .insert(objects[parent].body, objects[i].body, joint, true);
            objects[i].joint = Some((h, [0.0, j.friction as f32]));
        }

        let ik_params = ik::IkParams {
            damping: settings.ik_damping,
            max_iterations: settings.ik_iterations,
            ..ik::IkParams::default()
        };
        Ok(PandaWorld {
            task: task.clone(),
            settings: settings.clone(),
            substeps,
            phys,
            hooks,
            mb,
            link_ids,
            links,
            hand,
            servo: kinematic.then(|| {
                let law = if settings.arm_model == ArmModel::JointSpace {
                    ServoLaw::Multibody
                } else {
                    ServoLaw::Ideal
                };
                Servo::new(q0, law)
            }),
            fingers,
            finger_colliders,
            hand_collider,
            arm_colliders,
            static_colliders,
            objects,
            q_from: q0,
            q_to: q0,
            ik_q: q0,
            ik_params,
            gripper_closed: false,
            reachable: true,
            drives: vec![None; task.objects.len()],
            control_steps: 0,
            contact: crate::sim::RobotContact::default(),
        })
    }

    /// Check spawned objects: on the table, not interpenetrating anything.
    fn check_spawn(&self) -> Result<(), SimError> {
        let names = self.object_names();
        let col = |h: ColliderHandle| self.phys.colliders.get(h);
        let mut others: Vec<(String, ColliderHandle)> = Vec::new();
        for c in &self.static_colliders {
            others.push(("the table or a fixture".into(), *c));
        }
        for (_, c) in &self.arm_colliders {
            others.push(("the arm".into(), *c));
        }
        others.push(("the hand".into(), self.hand_collider));
        for c in &self.finger_colliders {
            others.push(("a finger".into(), *c));
        }
        for (i, o) in self.objects.iter().enumerate() {
            for c1 in &o.colliders {
                let Some(a) = col(*c1) else { continue };
                let aabb = a.compute_aabb();
                if (aabb.mins.z as f64) < -SPAWN_TOLERANCE {
                    return Err(SimError::InvalidScene(format!(
                        "'{}' reaches below the table top (z = {:.3} m)",
                        names[i], aabb.mins.z
                    )));
                }
                let check = |what: &str, c2: ColliderHandle| -> Result<(), SimError> {
                    let Some(b) = col(c2) else { return Ok(()) };
                    if let Ok(Some(c)) =
                        pq::contact(a.position(), a.shape(), b.position(), b.shape(), 0.0)
                    {
                        if (c.dist as f64) < -SPAWN_TOLERANCE {
                            return Err(SimError::InvalidScene(format!(
                                "'{}' would start inside {what} ({:.1} mm deep)",
                                names[i],
                                -c.dist * 1000.0
                            )));
                        }
                    }
                    Ok(())
                };
                for (what, c2) in &others {
                    // A fixed object's own colliders are among the scene's.
                    if !o.colliders.contains(c2) && !self.joined(i, *c2) {
                        check(what, *c2)?;
                    }
                }
                for (j, o2) in self.objects.iter().enumerate().skip(i + 1) {
                    if self.jointed_pair(i, j) {
                        continue;
                    }
                    for c2 in &o2.colliders {
                        check(&format!("'{}'", names[j]), *c2)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether objects `a` and `b` are joined by a slide joint (they may touch).
    fn jointed_pair(&self, a: usize, b: usize) -> bool {
        let parent_of = |i: usize| {
            self.task.objects[i]
                .joint
                .as_ref()
                .and_then(|j| self.task.object_index(&j.parent).ok())
        };
        parent_of(a) == Some(b) || parent_of(b) == Some(a)
    }

    /// Whether collider `c` belongs to an object joined to object `i`.
    fn joined(&self, i: usize, c: ColliderHandle) -> bool {
        self.objects
            .iter()
            .enumerate()
            .any(|(j, o)| o.colliders.contains(&c) && self.jointed_pair(i, j))
    }

    fn multibody(&self) -> Option<&Multibody> {
        self.phys.multibody_joints.get_multibody(self.mb)
    }

    fn coord(&self, k: usize) -> f64 {
        if let (Some(servo), true) = (&self.servo, k < DOF) {
            return servo.q[k];
        }
        let axis = if k < DOF { 3 } else { 0 };
        self.multibody()
            .and_then(|m| m.link(self.link_ids[k]))
            .map(|l| l.joint().coords()[axis] as f64)
            .unwrap_or(0.0)
    }

    fn body_pose(&self, h: RigidBodyHandle) -> Pose {
        self.phys
            .bodies
            .get(h)
            .map(|b| pose64(b.position()))
            .unwrap_or_default()
    }

    /// How far (m) the hand is from where the last control step sent it: the distance
    /// between the end-effector and the forward kinematics of that step's joint target.
    pub fn tracking_error(&self) -> f64 {
        (self.eef_pose().pos - panda::fk(&self.q_from).pos).norm()
    }

    /// Move object `index` to `pose` at rest, as when a person drags it in the
    /// playground. Rejects non-finite poses and poses below the table or off it.
    pub fn place_object(&mut self, index: usize, pose: &Pose) -> Result<(), SimError> {
        if !pose.is_finite() || pose.quat.norm() < 0.5 {
            return Err(SimError::NonFinite(format!("pose of object {index}")));
        }
        let Some(obj) = self.objects.get(index) else {
            return Err(SimError::Other(format!(
                "object index {index} is out of range ({} objects)",
                self.objects.len()
            )));
        };
        let (x, y) = (pose.pos.x(), pose.pos.y());
        if !(TABLE_X[0]..=TABLE_X[1]).contains(&x) || !(TABLE_Y[0]..=TABLE_Y[1]).contains(&y) {
            return Err(SimError::InvalidScene(format!(
                "({x:.3}, {y:.3}) is off the table"
            )));
        }
        if pose.pos.z() < -0.01 {
            return Err(SimError::InvalidScene("below the table top".into()));
        }
        let body = obj.body;
        if let Some(b) = self.phys.bodies.get_mut(body) {
            b.set_position(pose32(&Pose::new(pose.pos, pose.quat.normalized())), true);
            b.set_linvel(Vector::ZERO, true);
            b.set_angvel(Vector::ZERO, true);
        }
        Ok(())
    }

    /// Fold this physics step's contacts between the robot and the fixed scene into
    /// `self.contact`. Only the few pairs of the static colliders are visited.
    fn record_robot_contacts(&mut self) {
        let dt = self.phys.integration_parameters.dt;
        let mut out = self.contact;
        for s in &self.static_colliders {
            for pair in self.phys.narrow_phase.contact_pairs_with(*s) {
                let other = if pair.collider1 == *s {
                    pair.collider2
                } else {
                    pair.collider1
                };
                let finger = self.finger_colliders.contains(&other);
                let body = other == self.hand_collider
                    || self.arm_colliders.iter().any(|(_, a)| *a == other);
                if !(finger || body) {
                    continue;
                }
                if body && self.servo.is_some() && other != self.hand_collider {
                    // A kinematic link does not yield and feels no force: how deep it
                    // went into the fixed scene is the measure.
                    for mf in pair.manifolds() {
                        for p in &mf.points {
                            out.body_depth = out.body_depth.max(-p.dist as f64);
                        }
                    }
                    continue;
                }
                if !pair.has_any_active_contact() {
                    continue;
                }
                let force = (pair.total_impulse_magnitude() / dt) as f64;
                if finger {
                    out.finger_force = out.finger_force.max(force);
                } else {
                    out.body_force = out.body_force.max(force);
                }
            }
        }
        self.contact = out;
    }

    /// Whether finger `k`'s collider touches any collider of `obj`.
    fn finger_touches(&self, k: usize, obj: &ObjectBody) -> bool {
        obj.colliders.iter().any(|c| {
            self.phys
                .narrow_phase
                .contact_pair(self.finger_colliders[k], *c)
                .is_some_and(|pair| {
                    pair.manifolds().iter().any(|mf| {
                        mf.points.iter().any(|p| p.dist < TOUCH_DIST)
                            && !mf.data.solver_contacts.is_empty()
                    })
                })
        })
    }

    fn set_motors(&mut self, q: &[f64; DOF], qd: &[f64; DOF]) {
        let s = &self.settings;
        let (k, d) = (s.arm_stiffness as f32, s.arm_damping as f32);
        let (fk, fd) = (s.finger_stiffness as f32, s.finger_damping as f32);
        let finger_target = if self.gripper_closed {
            0.0
        } else {
            FINGER_TRAVEL as f32
        };
        let ids = self.link_ids;
        let finger = if self.servo.is_some() {
            self.coord(DOF)
        } else {
            0.0
        };
        if let Some(servo) = self.servo.as_mut() {
            let substeps = s.solver_iterations;
            let gains = Gains {
                k: s.arm_stiffness,
                d: s.arm_damping,
                h: self.phys.integration_parameters.dt as f64 / substeps as f64,
                substeps,
                finger,
            };
            servo.track(q, qd, &gains);
            let frames = panda::link_frames(&servo.q);
            for (i, frame) in frames[..DOF].iter().enumerate() {
                if let Some(b) = self.phys.bodies.get_mut(self.links[i]) {
                    // Same hemisphere as the current pose: rapier derives the body's
                    // angular velocity from the quaternion difference.
                    let mut next = frame32(frame);
                    if next.rotation.dot(b.position().rotation) < 0.0 {
                        next.rotation = -next.rotation;
                    }
                    b.set_next_kinematic_position(next);
                }
            }
        }
        let Some(mbody) = self.phys.multibody_joints.get_multibody_mut(self.mb) else {
            return;
        };
        for i in 0..DOF {
            if let Some(link) = mbody.link_mut(ids[i]) {
                // rapier builds a limit constraint for every limited joint at every
                // substep, active or not (an LU solve and a solver row each). The arm's
                // joints get their limits only within LIMIT_MARGIN of one; no joint moves
                // that far in a step, so every limit that could act is there, and results
                // are bit-identical (an inactive limit applies a zero impulse).
                let x = link.joint.coords()[3] as f64;
                if x < panda::Q_MIN[i] + LIMIT_MARGIN || x > panda::Q_MAX[i] - LIMIT_MARGIN {
                    link.joint.data.set_limits(
                        JointAxis::AngX,
                        [panda::Q_MIN[i] as f32, panda::Q_MAX[i] as f32],
                    );
                } else {
                    link.joint.data.limit_axes.remove(JointAxesMask::ANG_X);
                }
                link.joint
                    .data
                    .set_motor(JointAxis::AngX, q[i] as f32, qd[i] as f32, k, d);
            }
        }
        for id in &ids[DOF..] {
            if let Some(link) = mbody.link_mut(*id) {
                link.joint
                    .data
                    .set_motor(JointAxis::LinX, finger_target, 0.0, fk, fd);
            }
        }
    }

    fn check_stable(&self) -> Result<(), SimError> {
        let max = self.settings.max_speed as f32;
        let names = self.object_names();
        for (i, o) in self.objects.iter().enumerate() {
            if let Some(b) = self.phys.bodies.get(o.body) {
                let p = b.position();
                if !p.translation.is_finite() || !p.rotation.is_finite() {
                    return Err(SimError::Unstable(format!("'{}' pose is NaN", names[i])));
                }
                if b.linvel().length() > max {
                    return Err(SimError::Unstable(format!(
                        "'{}' moves at {:.1} m/s",
                        names[i],
                        b.linvel().length()
                    )));
                }
            }
        }
        for h in self
            .links
            .iter()
            .chain([self.hand].iter())
            .chain(self.fingers.iter())
        {
            if let Some(b) = self.phys.bodies.get(*h) {
                if !b.position().translation.is_finite() || b.linvel().length() > max {
                    return Err(SimError::Unstable("the arm diverged".into()));
                }
            }
        }
        Ok(())
    }

    /// The joint targets the motors are heading to at the end of this control period.
    pub fn joint_targets(&self) -> [f64; DOF] {
        self.q_to
    }

    /// Whether the gripper is commanded closed.
    pub fn gripper_command(&self) -> bool {
        self.gripper_closed
    }

    /// FNV-1a digest over the bits of every object pose, the arm joints and the
    /// fingers: equal digests mean bit-identical simulations (natively and in wasm32).
    pub fn state_digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |v: f64| {
            for byte in v.to_bits().to_le_bytes() {
                h ^= byte as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for p in self.object_poses() {
            for v in p.pos.0.iter().chain(p.quat.0.iter()) {
                eat(*v);
            }
        }
        for k in 0..DOF + 2 {
            eat(self.coord(k));
        }
        h
    }

    /// Everything a renderer draws: table, pedestal, arm links, hand, fingers,
    /// fixtures and objects, at their current poses.
    pub fn visual_shapes(&self) -> Vec<VisualShape> {
        let mut out = Vec::new();
        out.push(VisualShape {
            kind: ShapeKind::Cuboid {
                half_extents: Vec3::new(
                    0.5 * (TABLE_X[1] - TABLE_X[0]),
                    0.5 * (TABLE_Y[1] - TABLE_Y[0]),
                    0.5 * TABLE_THICKNESS,
                ),
            },
            pose: Pose::from_pos(Vec3::new(
                0.5 * (TABLE_X[0] + TABLE_X[1]),
                0.5 * (TABLE_Y[0] + TABLE_Y[1]),
                -0.5 * TABLE_THICKNESS,
            )),
            color: [205, 185, 155, 255],
        });
        out.push(VisualShape {
            kind: ShapeKind::Cuboid {
                half_extents: Vec3::new(3.0, 3.0, 0.05),
            },
            pose: Pose::from_pos(Vec3::new(0.5, 0.0, FLOOR_Z - 0.05)),
            color: [150, 150, 155, 255],
        });
        out.push(VisualShape {
            kind: ShapeKind::Cylinder {
                half_height: -0.5 * FLOOR_Z,
                radius: 0.11,
            },
            pose: Pose::from_pos(Vec3::new(0.0, 0.0, 0.5 * FLOOR_Z)),
            color: [70, 72, 78, 255],
        });
        let white = [235, 235, 238, 255];
        let dark = [60, 62, 68, 255];
        for (link, p0, p1, r) in panda::LINK_CAPSULES.iter() {
            let frame = if *link == 0 {
                Pose::IDENTITY
            } else {
                self.body_pose(self.links[link - 1])
            };
            let a = Vec3(*p0);
            let b = Vec3(*p1);
            let local = Pose::new((a + b) * 0.5, quat_z_to(b - a));
            out.push(VisualShape {
                kind: ShapeKind::Capsule {
                    half_height: 0.5 * (b - a).norm(),
                    radius: *r,
                },
                pose: frame.compose(&local),
                color: if *link == 0 || *link == 7 {
                    dark
                } else {
                    white
                },
            });
        }
        let l7 = self.body_pose(self.hand);
        let hand = Pose::new(
            Vec3::new(0.0, 0.0, panda::FLANGE_OFFSET + panda::HAND_CENTER_Z),
            Quat::from_yaw(panda::HAND_YAW),
        );
        out.push(VisualShape {
            kind: ShapeKind::Cuboid {
                half_extents: Vec3(panda::HAND_HALF),
            },
            pose: l7.compose(&hand),
            color: white,
        });
        for (k, side) in [1.0f64, -1.0].iter().enumerate() {
            let fh = panda::FINGER_HALF;
            let local = Pose::from_pos(Vec3::new(0.0, side * fh[1], panda::FINGER_CENTER_Z));
            out.push(VisualShape {
                kind: ShapeKind::Cuboid {
                    half_extents: Vec3(fh),
                },
                pose: self.body_pose(self.fingers[k]).compose(&local),
                color: dark,
            });
        }
        for f in &self.task.fixtures {
            for p in &f.parts {
                out.push(VisualShape {
                    kind: part_visual(&p.shape),
                    pose: f.pose.compose(&p.offset),
                    color: f.color,
                });
            }
        }
        for (spec, o) in self.task.objects.iter().zip(&self.objects) {
            let pose = self.body_pose(o.body);
            for p in &spec.parts {
                out.push(VisualShape {
                    kind: part_visual(&p.shape),
                    pose: pose.compose(&p.offset),
                    color: spec.color,
                });
            }
        }
        out
    }
}

/// Local frame turning rapier's shape axis conventions into ours (cylinders
/// along z instead of y).
fn shape_frame(shape: &PartShape) -> rapier3d::math::Pose {
    match shape {
        PartShape::Cuboid { .. } | PartShape::Sphere { .. } => rapier3d::math::Pose::identity(),
        PartShape::Cylinder { .. } => pose32(&Pose::new(
            Vec3::ZERO,
            Quat::from_axis_angle(Vec3::new(1.0, 0.0, 0.0), std::f64::consts::FRAC_PI_2),
        )),
    }
}

impl World for PandaWorld {
    fn object_names(&self) -> Vec<String> {
        self.task.object_names()
    }

    fn reset(&mut self, object_poses: &[Pose]) -> Result<(), SimError> {
        *self = Self::spawn(&self.task, &self.settings, self.substeps, object_poses)?;
        Ok(())
    }

    fn command(&mut self, target: &Pose, gripper_closed: bool) -> Result<(), SimError> {
        if !target.is_finite() {
            return Err(SimError::NonFinite("end-effector target".into()));
        }
        let qn = target.quat.norm();
        if !(0.5..=2.0).contains(&qn) {
            return Err(SimError::NonFinite(format!(
                "end-effector target orientation has norm {qn:.3}"
            )));
        }
        let target = Pose::new(target.pos, target.quat.normalized());
        let sol = ik::solve(&target, &self.ik_q, &panda::Q_HOME, &self.ik_params);
        self.reachable = sol.reachable;
        self.ik_q = sol.q;
        // Respect the joint speed limits by slowing the whole motion down
        // uniformly, so the end-effector stays on its path.
        let mut ratio: f64 = 1.0;
        for i in 0..DOF {
            ratio = ratio.max((sol.q[i] - self.q_from[i]).abs() / (panda::QD_MAX[i] * CONTROL_DT));
        }
        for i in 0..DOF {
            self.q_to[i] = self.q_from[i] + (sol.q[i] - self.q_from[i]) / ratio;
        }
        self.gripper_closed = gripper_closed;
        Ok(())
    }

    fn step(&mut self) -> Result<(), SimError> {
        let grasped = self.grasped_object();
        self.hooks.drives.clear();
        for (i, d) in self.drives.iter().enumerate() {
            // A jointed object is driven through its joint's motor, along the joint.
            if let (Some((h, set)), Some(spec)) =
                (self.objects[i].joint, self.task.objects[i].joint.as_ref())
            {
                let parent = self
                    .task
                    .object_index(&spec.parent)
                    .map(|p| self.body_pose(self.objects[p].body))
                    .unwrap_or_default();
                let along = d.map(|v| parent.quat.rotate(spec.axis.normalized()).dot(v));
                let motor = match along {
                    Some(v) => [v as f32, JOINT_DRIVE_FORCE],
                    None => [0.0, spec.friction as f32],
                };
                // Touching a joint invalidates the solver's joint selection: only on change.
                if motor != set {
                    if let Some(j) = self.phys.impulse_joints.get_mut(h, false) {
                        j.data
                            .set_motor_velocity(JointAxis::LinX, motor[0], spec.damping as f32)
                            .set_motor_max_force(JointAxis::LinX, motor[1]);
                    }
                    self.objects[i].joint = Some((h, motor));
                }
                continue;
            }
            if let (Some(v), true) = (d, grasped != Some(i)) {
                self.hooks.drives.push((self.objects[i].body, v32(v.0)));
            }
        }
        let n = self.substeps;
        let (from, to) = (self.q_from, self.q_to);
        let qd: [f64; DOF] = std::array::from_fn(|i| (to[i] - from[i]) / CONTROL_DT);
        self.contact = crate::sim::RobotContact::default();
        for k in 1..=n {
            let s = k as f64 / n as f64;
            let q: [f64; DOF] = std::array::from_fn(|i| from[i] + s * (to[i] - from[i]));
            self.set_motors(&q, &qd);
            self.phys.step_with_events(&self.hooks, &());
            self.record_robot_contacts();
        }
        self.q_from = self.q_to;
        self.control_steps += 1;
        self.check_stable()
    }

    fn time(&self) -> f64 {
        self.control_steps as f64 * CONTROL_DT
    }

    fn eef_pose(&self) -> Pose {
        let l7 = self.body_pose(self.hand);
        l7.compose(&panda::link7_to_eef().to_pose())
    }

    fn joint_positions(&self) -> [f64; 7] {
        let mut q = [0.0; DOF];
        for (k, v) in q.iter_mut().enumerate() {
            *v = self.coord(k);
        }
        q
    }

    fn gripper_width(&self) -> f64 {
        self.coord(DOF) + self.coord(DOF + 1)
    }

    fn object_poses(&self) -> Vec<Pose> {
        self.objects
            .iter()
            .map(|o| self.body_pose(o.body))
            .collect()
    }

    fn object_velocities(&self) -> Vec<(Vec3, Vec3)> {
        self.objects
            .iter()
            .map(|o| {
                self.phys
                    .bodies
                    .get(o.body)
                    .map(|b| {
                        let v = b.linvel();
                        let w = b.angvel();
                        (
                            Vec3::new(v.x as f64, v.y as f64, v.z as f64),
                            Vec3::new(w.x as f64, w.y as f64, w.z as f64),
                        )
                    })
                    .unwrap_or((Vec3::ZERO, Vec3::ZERO))
            })
            .collect()
    }

    fn grasped_object(&self) -> Option<usize> {
        self.objects
            .iter()
            .position(|o| self.finger_touches(0, o) && self.finger_touches(1, o))
    }

    fn target_reachable(&self) -> bool {
        self.reachable
    }

    fn set_object_drive(&mut self, object: usize, velocity: Option<Vec3>) {
        if let Some(slot) = self.drives.get_mut(object) {
            *slot = velocity
                .filter(|v| v.is_finite())
                .map(|v| Vec3::new(v.x(), v.y(), 0.0));
        }
    }

    fn robot_contact(&self) -> crate::sim::RobotContact {
        self.contact
    }

    /// Layout: `[t, q(7), qd(7), finger q(2), finger qd(2)]` then per object
    /// `[pos(3), quat xyzw(4), linvel(3), angvel(3)]`.
    fn state(&self) -> Vec<f64> {
        let mut s = vec![self.time()];
        s.extend_from_slice(&self.joint_positions());
        let vel = self
            .multibody()
            .map(|m| m.generalized_velocity().iter().map(|v| *v as f64).collect())
            .unwrap_or_else(|| vec![0.0; DOF + 2]);
        let mut qd = [0.0; DOF + 2];
        if let Some(mb) = self.multibody() {
            for (k, id) in self.link_ids.iter().enumerate() {
                if let Some(l) = mb.link(*id) {
                    qd[k] = vel.get(l.assembly_id()).copied().unwrap_or(0.0);
                }
            }
        }
        if let Some(servo) = &self.servo {
            qd[..DOF].copy_from_slice(&servo.qd);
        }
        s.extend_from_slice(&qd[..DOF]);
        s.push(self.coord(DOF));
        s.push(self.coord(DOF + 1));
        s.extend_from_slice(&qd[DOF..]);
        for (p, (v, w)) in self.object_poses().iter().zip(self.object_velocities()) {
            s.extend_from_slice(&p.pos.0);
            s.extend_from_slice(&p.quat.0);
            s.extend_from_slice(&v.0);
            s.extend_from_slice(&w.0);
        }
        s
    }
}

#[cfg(test)]
mod tests;
